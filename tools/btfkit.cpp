// btfkit command-line tool: dispatches `btfkit COMMAND ARGS...` through the table of commands that
// tools/meson.build lists (cli_config.h).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "cli_config.h"
#include "btfkit/kernel.hpp"
#include "cli.hpp"
#include "command.hpp"

namespace btfkit::cli {
#define BTFKIT_DECLARE_COMMAND(name) extern const command name##_command;
BTFKIT_COMMANDS(BTFKIT_DECLARE_COMMAND)
#undef BTFKIT_DECLARE_COMMAND
}  // namespace btfkit::cli

namespace {

using btfkit::cli::command;

#define BTFKIT_COMMAND_ADDRESS(name) &btfkit::cli::name##_command,
constexpr const command* commands[] = {BTFKIT_COMMANDS(BTFKIT_COMMAND_ADDRESS)};
#undef BTFKIT_COMMAND_ADDRESS

const command* find_command(std::string_view name) {
    for (const command* c : commands) {
        if (c->name == name) return c;
    }
    return nullptr;
}

std::string overview() {
    std::size_t width = 0;
    for (const command* c : commands) width = std::max(width, c->name.size());
    std::string s = "usage: btfkit COMMAND [ARGS...]\n\ncommands:\n";
    for (const command* c : commands) {
        s += "  ";
        s.append(c->name);
        s.append(width - c->name.size() + 2, ' ');
        s.append(c->summary);
        s += '\n';
    }
    s += "\n`btfkit COMMAND --help` (or `btfkit help COMMAND`) shows a command's options.\n";
    return s;
}

int print(std::FILE* to, const std::string& s, int status) {
    std::fwrite(s.data(), 1, s.size(), to);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    using btfkit::cli::exit_usage;
    // Every OS tuning on: a short process on a VM pays for page faults and for a helper thread left on
    // its creator's CPU (docs/performance.md, "OS tuning"); BTFKIT_TUNING names others, or none.
    const char* tuning_env = std::getenv("BTFKIT_TUNING");
    auto tuning = btfkit::parse_tuning(tuning_env != nullptr ? tuning_env : "all");
    if (!tuning) return btfkit::cli::report(tuning.error());
    btfkit::apply_tuning(*tuning);
    if (argc < 2) return print(stderr, overview(), exit_usage);
    std::string_view name = argv[1];
    if (name == "help" || name == "--help" || name == "-h") {
        if (argc < 3) return print(stdout, overview(), 0);
        if (const command* c = find_command(argv[2])) return print(stdout, c->help(), 0);
        return print(stderr, "btfkit: unknown command '" + std::string(argv[2]) + "'\n" + overview(), exit_usage);
    }
    if (name == "--version") name = "version";
    const command* c = find_command(name);
    if (c == nullptr) {
        const char* what = name.starts_with('-') ? "unknown option" : "unknown command";
        return print(stderr, "btfkit: " + std::string(what) + " '" + std::string(name) + "'\n" + overview(), exit_usage);
    }
    static char out_buf[1 << 20];  // dumps are written in 64 KiB chunks; few write(2) calls
    std::setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    const int rc = c->main(std::span<char* const>(argv + 2, static_cast<std::size_t>(argc - 2)));
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(rc);  // no teardown: see keep_until_exit
}
