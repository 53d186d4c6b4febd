// libbpf-oracle --loads: each program's BPF_PROG_LOAD as libbpf builds it (README.md, "--loads").
#pragma once

namespace btfkit::oracle {

// Runs the --loads mode over the command line (the other options as the default mode's, where they apply).
int run_loads(int argc, char** argv);

}  // namespace btfkit::oracle
