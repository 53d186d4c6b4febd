// btfkit command-line tool: dispatches `btfkit COMMAND ARGS...` through a table of subcommands.
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "cli.hpp"

namespace {

using btfkit::cli::command;

constexpr const command* commands[] = {
    &btfkit::cli::dump_command,
    &btfkit::cli::stat_command,
    &btfkit::cli::relocate_command,
    &btfkit::cli::find_command,
    &btfkit::cli::print_command,
};

int usage() {
    std::string s = "usage: btfkit COMMAND [ARGS...]\n\ncommands:\n";
    for (const command* c : commands) {
        s += "  ";
        s.append(c->name);
        s += ' ';
        s.append(c->usage);
        s += "\n      ";
        s.append(c->summary);
        s += '\n';
    }
    s += "\n`btfkit COMMAND --help` shows one command's usage.\n";
    std::fwrite(s.data(), 1, s.size(), stderr);
    return btfkit::cli::exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string_view name = argv[1];
    for (const command* c : commands) {
        if (c->name != name) continue;
        for (const std::string_view arg : std::span(argv + 2, static_cast<std::size_t>(argc - 2))) {
            if (arg == "--") break;
            if (arg == "--help" || arg == "-h") return btfkit::cli::usage_error(*c);
        }
        static char out_buf[1 << 20];  // dumps are written in 64 KiB chunks; few write(2) calls
        std::setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
        const int rc = c->run(argc - 1, argv + 1);
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(rc);  // no teardown: see keep_until_exit
    }
    if (name != "help" && name != "--help" && name != "-h") {
        std::fprintf(stderr, "btfkit: unknown command '%s'\n", argv[1]);
    }
    return usage();
}
