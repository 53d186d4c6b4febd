// Runs programs from tests (the btfkit CLI, bpftool, modinfo) with stdout and stderr sent to files.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern char** environ;

namespace btfkit::testing {

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Debian bookworm's bpftool 7.1, "" without it.
inline std::string bpftool71() { return std::filesystem::exists("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : ""; }

// Starts argv[0] (looked up in PATH) with stdout and stderr sent to files; -1 if it cannot start.
inline pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out, const std::filesystem::path& err) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

// Exit status, or 128 + signal, or -1 if it could not run.
inline int wait_for(pid_t pid) {
    if (pid < 0) return -1;
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

struct run_result {
    int status = -1;
    std::string out, err;
};

// Runs `args` to completion; its output passes through files in `scratch`.
inline run_result run(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
    static int n = 0;
    const auto out = scratch / ("run" + std::to_string(n) + ".out");
    const auto err = scratch / ("run" + std::to_string(n++) + ".err");
    run_result r;
    r.status = wait_for(spawn(args, out, err));
    r.out = read_text(out);
    r.err = read_text(err);
    std::filesystem::remove(out);
    std::filesystem::remove(err);
    return r;
}

}  // namespace btfkit::testing
