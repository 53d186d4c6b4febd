// A vmlinux-like base and three modules for the symbols name space's tests: the same names as types
// and as symbols, flavored names, duplicates; and how a target set answers for them.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "blob_builder.hpp"
#include "btfkit.hpp"
#include "btfkit/kernel.hpp"
#include "process.hpp"
#include "running_vmlinux.hpp"
#include "temp_dir.hpp"

namespace btfkit::testing::symbols_sample {

namespace fs = std::filesystem;
namespace bk = btfkit;
namespace bt = btfkit::testing;
using bk::kind;
using bk::name_space;


// vmlinux-like base and three modules: the same names in both spaces, flavored names, duplicates.
struct synthetic {
    bt::blob_builder base{bk::byte_order::little};
    std::vector<std::vector<char>> modules;
    std::unique_ptr<bk::btf> vmlinux;

    synthetic() {
        const std::uint32_t i32 = base.add_int("int", 4, 1);
        const std::uint32_t chr = base.add_int("char", 1, 1);
        const std::uint32_t cchr = base.add_ref(kind::const_, "", chr);
        const std::uint32_t pcchr = base.add_ref(kind::ptr, "", cchr);
        const std::uint32_t foo_s = base.add_struct("foo", 4, false, {{"a", i32, 0, 0}});
        const std::uint32_t pfoo = base.add_ref(kind::ptr, "", foo_s);
        const std::uint32_t proto = base.add_func_proto(i32, {{"a", i32}, {"b", pcchr}});
        base.add_ref(kind::func, "foo", proto, 1);
        base.add_ref(kind::func, "baz___v2", proto, 0);
        base.add_var("bar", i32, 1);
        const std::uint32_t vproto = base.add_func_proto(0, {});
        base.add_ref(kind::func, "nothing", vproto, 0);
        const std::uint32_t variadic = base.add_func_proto(pfoo, {{"fmt", pcchr}, {"", 0}});
        base.add_ref(kind::func, "vfoo", variadic, 1);
        const std::uint32_t cb = base.add_func_proto(0, {{"", i32}});
        const std::uint32_t pcb = base.add_ref(kind::ptr, "", cb);
        const std::uint32_t takes_cb = base.add_func_proto(i32, {{"fn", pcb}, {"n", i32}});
        base.add_ref(kind::func, "with_callback", takes_cb, 2);
        auto b = bk::btf::parse(base.span());
        REQUIRE(b.has_value());
        vmlinux = std::make_unique<bk::btf>(std::move(*b));
        auto module = [&](auto&& add) {
            bt::blob_builder m(bk::byte_order::little, vmlinux->type_count(), vmlinux->strings_size());
            add(m);
            modules.emplace_back(m.bytes().begin(), m.bytes().end());
        };
        module([&](bt::blob_builder& m) {  // m0
            const std::uint32_t p = m.add_func_proto(i32, {{"x", i32}});
            m.add_ref(kind::func, "foo", p, 0);
            m.add_ref(kind::func, "only_m0", p, 1);
            m.add_var("bar", i32, 0);
        });
        module([&](bt::blob_builder& m) {  // m1
            m.add_struct("foo", 8, false, {{"a", i32, 0, 0}, {"b", i32, 32, 0}});
            const std::uint32_t p = m.add_func_proto(i32, {});
            m.add_ref(kind::func, "foo___v2", p, 1);
            m.add_ref(kind::func, "fool", p, 1);
        });
        module([&](bt::blob_builder& m) {  // m2: no symbols at all
            m.add_struct("only_m2", 4, false, {{"a", i32, 0, 0}});
        });
    }
    void setup(bk::target_set& s) const {
        for (std::size_t i = 0; i < modules.size(); ++i) s.add_module("m" + std::to_string(i));
        s.set_loader([this](std::uint32_t m, bk::byte_buffer& buf) -> bk::status {
            buf.assign(modules[m - 1].begin(), modules[m - 1].end());
            return {};
        });
    }
};

// find() in a space, as "target:id:KIND:name" strings.
inline std::vector<std::string> found(bk::target_set& s, std::string_view key, name_space sp) {
    std::vector<bk::candidate> c;
    REQUIRE(s.find(key, c, sp).has_value());
    std::vector<std::string> out;
    for (const auto& x : c) {
        const bk::type t = (*x.owner)[x.id];
        out.push_back(std::string(s.target_name(x.target)) + ":" + std::to_string(x.id) + ":" + std::string(bk::kind_name(t.kind())) + ":" +
                      std::string(t.name()));
    }
    return out;
}

inline std::vector<std::string> all_answers(bk::target_set& s) {
    std::vector<std::string> out;
    for (const char* n : {"foo", "foo___v2", "baz", "baz___v2", "bar", "only_m0", "only_m2", "fool", "absent"}) {
        for (const name_space sp : {name_space::types, name_space::symbols}) {
            for (auto& a : found(s, n, sp)) out.push_back(std::string(n) + (sp == name_space::types ? " T " : " S ") + a);
        }
    }
    return out;
}


}  // namespace btfkit::testing::symbols_sample
