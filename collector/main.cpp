// vigil-collector: see collector/app/collector_app.h.
#include "collector/app/collector_app.h"

int main(int argc, char** argv) { return vigil::collector::app::Main(argc, argv); }
