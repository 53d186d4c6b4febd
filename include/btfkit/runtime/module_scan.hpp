// The parallel strategies over many modules: building a module index (every module read once),
// opening the modules that hold a name matching a pattern (every module read once), and opening a
// list of modules; two threads from 64 or thread_min_modules modules, else one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "../index/module_index.hpp"
#include "../memory.hpp"
#include "threads.hpp"

namespace btfkit {

// A module's failure: its index (0-based) and why.
using module_failure = std::pair<std::uint32_t, error>;

// Module `t`'s bytes (1-based), read by `load` into `buf` (whose blocks come from `a`) and left in
// `a`: in the buffer's own block if they fill most of it (the buffer then starts afresh), else copied.
inline result<byte_span> load_into(const module_loader& load, std::uint32_t t, byte_buffer& buf, chunk_arena& a) {
    BTFKIT_TRY(load(t, buf));
    if (buf.capacity() - buf.size() <= buf.size() / 2 + 4096) {
        const byte_span kept(buf.data(), buf.size());
        buf = byte_buffer(default_init_allocator<char>(&a));  // the old block is not given back
        return kept;
    }
    return a.keep(byte_span(buf.data(), buf.size()));
}

// Reads every module not in `skip` once and calls visit(thread, module, bytes) with its bytes (0-based
// module index; the bytes are valid during the call): on two threads from 64 modules (thread 0 or 1,
// each reusing one buffer), else on this one. Returns the modules that failed to read or to visit,
// in module order; a visit that fails must leave nothing of that module behind.
template <class Visit>
std::vector<module_failure> for_each_module_bytes(std::uint32_t modules, const std::vector<bool>& skip, const module_loader& load,
                                                  Visit&& visit) {
    const unsigned threads = modules >= 64 ? 2u : 1u;
    std::vector<module_failure> failures[2];
    auto work = [&](unsigned w) {
        byte_buffer buf;
        if (threads == 2) buf.reserve(detail::huge_block_bytes);  // a buffer for many modules: one huge block
        for (std::uint32_t i = w; i < modules; i += threads) {
            if (i < skip.size() && skip[i]) continue;
            status st = load(i + 1, buf);
            if (st) st = visit(w, i, byte_span(buf.data(), buf.size()));
            if (!st) failures[w].emplace_back(i, st.error());
        }
    };
    if (threads == 2) detail::run_both([&] { work(0); }, [&] { work(1); });
    else work(0);
    std::vector<module_failure> out = std::move(failures[0]);
    std::move(failures[1].begin(), failures[1].end(), std::back_inserter(out));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
}

struct module_index_build {
    module_index index;
    std::vector<module_failure> failures;  // in module order
};

// The module index of name space `sp`: every module not in `skip` read once and its names indexed
// over `vmlinux`; a module that fails to read or walk is left out and listed.
inline module_index_build build_module_index(std::uint32_t modules, const std::vector<bool>& skip, const module_loader& load,
                                             const btf& vmlinux, name_space sp = name_space::types) {
    big_vector<std::uint32_t> pairs[2];  // per thread: hash, entry
    module_index_build out;
    out.failures = for_each_module_bytes(modules, skip, load, [&](unsigned w, std::uint32_t i, byte_span bytes) -> status {
        auto& p = pairs[w];
        const std::size_t before = p.size();
        const status st = index_module(i, bytes, &vmlinux, vmlinux.type_count(), sp, [&](std::uint32_t h, std::uint32_t e) {
            p.push_back(h);
            p.push_back(e);
        });
        if (!st) p.resize(before);
        return st;
    });
    out.index = module_index::build(modules, std::span<const big_vector<std::uint32_t>>(pairs));
    return out;
}

// Modules opened for a lookup by pattern: every module not in `skip` read once (two threads from 64)
// and walked, and those with a type of name space `sp` for which wanted(kind, name) holds (`name`
// NUL-terminated) parsed over `vmlinux`, their bytes and tables kept in `arenas` (for the caller to
// adopt).
struct modules_where {
    std::vector<std::pair<std::uint32_t, btf>> opened;  // (module index, parsed), in module order
    std::vector<module_failure> failures;                // unread, unwalked or unparsed, in module order
    std::vector<chunk_arena> arenas;
};
template <class Wanted>
modules_where open_modules_where(std::uint32_t modules, const std::vector<bool>& skip, const module_loader& load, const btf& vmlinux,
                                 name_space sp, Wanted&& wanted) {
    std::vector<std::pair<std::uint32_t, btf>> opened[2];
    modules_where out;
    out.arenas.emplace_back(std::size_t{64} << 10);
    out.arenas.emplace_back(detail::huge_block_bytes);
    const std::uint32_t kinds = name_space_kinds(sp);
    out.failures = for_each_module_bytes(modules, skip, load, [&](unsigned w, std::uint32_t i, byte_span bytes) -> status {
        bool hit = false;
        BTFKIT_TRY(btf::walk_named(bytes, &vmlinux, [&](std::uint32_t, kind k, const char* name, const char*) {
            if (!hit && ((kinds >> static_cast<std::uint32_t>(k)) & 1u) != 0) hit = wanted(k, name);
        }));
        if (!hit) return {};
        chunk_arena& a = out.arenas[w];
        auto b = btf::parse(a.keep(bytes), &vmlinux, &a);
        if (!b) return b.error();
        opened[w].emplace_back(i, std::move(*b));
        return {};
    });
    out.opened = std::move(opened[0]);
    std::move(opened[1].begin(), opened[1].end(), std::back_inserter(out.opened));
    std::sort(out.opened.begin(), out.opened.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    return out;
}

struct opened_modules {
    std::vector<std::optional<btf>> parsed;  // per module asked for, in the order asked
    std::vector<error> errors;               // where parsed is empty
};

// Reads and parses the modules `want` (1-based) over `vmlinux`: their bytes and tables go to `arena`
// (this thread's) and `second` (the helper's, for the caller to adopt).
inline opened_modules open_modules(std::span<const std::uint32_t> want, const module_loader& load, const btf& vmlinux,
                                   chunk_arena& arena, chunk_arena& second) {
    opened_modules out;
    out.parsed.resize(want.size());
    out.errors.resize(want.size());
    auto work = [&](std::size_t first, chunk_arena& a) {
        byte_buffer buf{default_init_allocator<char>(&a)};
        for (std::size_t i = first; i < want.size(); i += 2) {
            auto bytes = load_into(load, want[i], buf, a);
            auto b = bytes ? btf::parse(*bytes, &vmlinux, &a) : result<btf>(bytes.error());
            if (b) out.parsed[i].emplace(std::move(*b));
            else out.errors[i] = b.error();
        }
    };
    detail::run_both([&] { work(0, arena); }, [&] { work(1, second); });
    return out;
}

}  // namespace btfkit
