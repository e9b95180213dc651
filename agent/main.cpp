// vigil-agent: see agent/app/agent_app.h.
#include "agent/app/agent_app.h"

int main(int argc, char** argv) { return vigil::agent::app::RunAgent(argc, argv); }
