// Writes the fuzz seed corpus: every record sample serialized, one file each
// (tests/proto/fuzz/corpus/<sample>.pb). Run after changing the samples:
//   <build>/tests/proto/vigil_zeek_view_make_corpus tests/proto/fuzz/corpus

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/proto/record_samples.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::filesystem::create_directories(dir);
  int written = 0;
  for (const auto& [name, event] : vigil::test::RecordSamples()) {
    std::ofstream out(dir / (name + ".pb"), std::ios::binary);
    if (!event.SerializeToOstream(&out)) {
      std::fprintf(stderr, "cannot write %s\n", name.c_str());
      return 1;
    }
    ++written;
  }
  std::printf("%d seeds in %s\n", written, dir.c_str());
  return 0;
}
