// `ballast sim`: runs the deterministic simulator over a range of seeds.
#pragma once

#include <CLI/CLI.hpp>

namespace ballast::cli {

void add_sim_command(CLI::App& app);

}  // namespace ballast::cli
