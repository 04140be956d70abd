// `ballast loadgen` and `ballast bench cluster`: load against live validators, from the
// command line.
#pragma once

#include <CLI/CLI.hpp>

namespace ballast::cli {

void add_loadgen_command(CLI::App& app);

}  // namespace ballast::cli
