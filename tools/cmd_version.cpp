// `btfkit version` (also `btfkit --version`): the project's version, from meson.build.
#include <cstdio>

#include "command.hpp"
#include "cli_config.h"

namespace btfkit::cli {
namespace {

struct version_args {};

int run_version(version_args&) {
    std::fputs("btfkit " BTFKIT_VERSION "\n", stdout);
    return 0;
}

constexpr command_spec<version_args> spec{
    .name = "version",
    .summary = "print btfkit's version (also `btfkit --version`)",
    .run = run_version,
};

}  // namespace

extern constinit const command version_command = make_command<spec>();

}  // namespace btfkit::cli
