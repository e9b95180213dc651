// Runs a libFuzzer harness over every file of a corpus (files or folders
// given on the command line), so the corpus is exercised as an ordinary test
// in builds without libFuzzer. Exits non-zero if no input was found: a corpus
// that silently vanished must fail the test, not pass it.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Copy to an exactly sized heap buffer so ASan sees reads past the end.
  std::vector<uint8_t> input(bytes.begin(), bytes.end());
  auto* data = input.empty() ? nullptr : input.data();
  LLVMFuzzerTestOneInput(data, input.size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs += RunFile(entry.path());
      }
    } else if (std::filesystem::is_regular_file(arg)) {
      inputs += RunFile(arg);
    } else {
      std::fprintf(stderr, "standalone_replay: no such corpus: %s\n", argv[i]);
      return 2;
    }
  }
  if (inputs == 0) {
    std::fprintf(stderr, "standalone_replay: corpus is empty\n");
    return 2;
  }
  std::printf("standalone_replay: %d inputs replayed without a crash\n", inputs);
  return 0;
}
