// trace/arg_path.hpp: ksnoop expressions and argument paths by C's rules, proved in constant
// evaluation on a hand-built BTF, and offsets against bpftool's raw dump for generated paths on the
// running kernel and in Debian modules.
#include <doctest/doctest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/format/btf.hpp"
#include "btfkit/os/files.hpp"
#include "btfkit/trace/arg_path.hpp"
#include "btfkit/trace/explain.hpp"
#include "btfkit/write/btf_builder.hpp"
#include "trace_sample.hpp"

using namespace btfkit;
using btfkit::testing::fn_id;
using btfkit::testing::nothing_id;
using btfkit::testing::trace_sample;

namespace {

constexpr bool paths_resolve_by_c_rules() {
    const auto bytes = trace_sample().encode();
    if (!bytes) return false;
    const auto parsed = btf::parse({bytes->data(), bytes->size()});
    if (!parsed) return false;
    const btf& b = *parsed;
    bool ok = true;
    // Through a pointer to a const typedef, then an anonymous union, to a bitfield.
    auto p = resolve_arg(b, fn_id, "o->in.c");
    ok = ok && p && p->param_index == 0 && p->step_count == 2;
    ok = ok && p->steps[0].member == "in" && p->steps[0].deref && p->steps[0].byte_offset == 8 && p->steps[0].type_id == 4;
    ok = ok && p->steps[1].member == "c" && !p->steps[1].deref && p->steps[1].byte_offset == 4 && p->steps[1].bit_offset == 3 &&
         p->steps[1].bitfield_size == 5 && p->type_id == 1 && p->size == 4 && p->final_kind == kind::int_;
    // Array index, then a member; a pointer indexed; the parameter alone; the return value.
    auto q = resolve_arg(b, fn_id, " o -> arr [ 3 ] . b ");
    ok = ok && q && q->step_count == 3 && q->steps[1].is_index && q->steps[1].byte_offset == 24 && !q->steps[1].deref &&
         q->steps[2].byte_offset == 4 && q->steps[2].bit_offset == 0 && q->steps[2].bitfield_size == 3;
    auto r = resolve_arg(b, fn_id, "o->next[2].x");
    ok = ok && r && r->steps[1].is_index && r->steps[1].deref && r->steps[1].byte_offset == 112 && r->final_kind == kind::int_ && r->size == 8;
    auto n = resolve_arg(b, fn_id, "n");
    ok = ok && n && n->param_index == 1 && n->step_count == 0 && n->size == 4;
    auto ret = resolve_arg(b, fn_id, "return");
    ok = ok && ret && ret->is_return && ret->param_index == 2 && ret->type_id == 1;
    auto whole = resolve_arg(b, fn_id, "o->arr");
    ok = ok && whole && whole->final_kind == kind::array && whole->size == 32;
    // C's errors, each with its place.
    path_failure why;
    ok = ok && !resolve_arg(b, fn_id, "p", &why) && why.problem == path_problem::no_parameter && why.name == "p";
    ok = ok && !resolve_arg(b, fn_id, "o.x", &why) && why.problem == path_problem::dot_on_pointer && why.at == 1;
    ok = ok && !resolve_arg(b, fn_id, "o->in->a", &why) && why.problem == path_problem::arrow_needs_pointer && why.step == 2;
    ok = ok && !resolve_arg(b, fn_id, "o->nope", &why) && why.problem == path_problem::no_member && why.type_id == 8;
    ok = ok && !resolve_arg(b, fn_id, "o->arr[4]", &why) && why.problem == path_problem::index_out_of_range && why.limit == 4;
    ok = ok && !resolve_arg(b, fn_id, "n->x", &why) && why.problem == path_problem::arrow_needs_pointer;
    ok = ok && !resolve_arg(b, fn_id, "n[0]", &why) && why.problem == path_problem::not_indexable;
    ok = ok && !resolve_arg(b, fn_id, "o->x.y", &why) && why.problem == path_problem::not_composite;
    ok = ok && !resolve_arg(b, fn_id, "o->", &why) && why.problem == path_problem::syntax;
    ok = ok && !resolve_arg(b, fn_id, "o->arr[", &why) && why.problem == path_problem::syntax;
    ok = ok && !resolve_arg(b, nothing_id, "return", &why) && why.problem == path_problem::void_return;
    ok = ok && !resolve_arg(b, 1, "x", &why) && why.problem == path_problem::not_a_function;
    return ok;
}
static_assert(paths_resolve_by_c_rules());

constexpr bool expressions_parse() {
    auto e = parse_trace_expr("  ip_send_skb( skb->sk , net ) ");
    bool ok = e && e->function == "ip_send_skb" && e->arg_count == 2 && e->args[0] == "skb->sk" && e->args[1] == "net";
    auto bare = parse_trace_expr("schedule");
    ok = ok && bare && bare->function == "schedule" && bare->arg_count == 0;
    auto empty = parse_trace_expr("f()");
    ok = ok && empty && empty->arg_count == 0;
    ok = ok && !parse_trace_expr("f(a,,b)") && !parse_trace_expr("f(a") && !parse_trace_expr("(a)") && !parse_trace_expr("f(a,b,c,d,e,f,g,h,i)");
    return ok;
}
static_assert(expressions_parse());

}  // namespace

TEST_CASE("resolve_arg: the constant-evaluated proofs hold at run time too") {
    CHECK(paths_resolve_by_c_rules());
    CHECK(expressions_parse());
}

// ---- against bpftool on the running kernel -------------------------------------------------------

namespace {

// bpftool's raw dump, read independently of btfkit's parser: per id, kind, name, ref/size and members.
struct raw_member {
    std::string name;
    std::uint32_t type = 0;
    std::uint64_t bits = 0;
    std::uint32_t bitfield = 0;
};
struct raw_type {
    std::string kind, name;
    std::uint32_t type = 0, size = 0, nr_elems = 0;
    std::vector<raw_member> members;
    std::vector<std::pair<std::string, std::uint32_t>> params;
};

std::string field(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    if (at == std::string::npos) return {};
    const auto start = at + key.size() + 2;
    if (line[start] == '\'') return line.substr(start + 1, line.find('\'', start + 1) - start - 1);
    return line.substr(start, line.find(' ', start) - start);
}

// `base` for split BTF: the ids continue the base's, and the base's own types are not listed.
void bpftool_raw(const std::string& path, std::map<std::uint32_t, raw_type>& out, const std::string& base = {}) {
    const std::string cmd = "bpftool btf dump file '" + path + "'" + (base.empty() ? "" : " -B '" + base + "'") + " 2>/dev/null";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return;
    char buf[4096];
    raw_type* cur = nullptr;
    while (std::fgets(buf, sizeof(buf), p) != nullptr) {
        std::string line(buf);
        if (!line.empty() && line.back() == '\n') line.pop_back();
        if (line.starts_with("[")) {
            const auto id = static_cast<std::uint32_t>(std::stoul(line.substr(1)));
            cur = &out[id];
            const auto sp = line.find(' ');
            cur->kind = line.substr(sp + 1, line.find(' ', sp + 1) - sp - 1);
            const auto q = line.find('\'');
            cur->name = line.substr(q + 1, line.find('\'', q + 1) - q - 1);
            if (cur->name == "(anon)") cur->name.clear();
            if (auto t = field(line, "type_id"); !t.empty()) cur->type = static_cast<std::uint32_t>(std::stoul(t));
            if (auto t = field(line, "ret_type_id"); !t.empty()) cur->type = static_cast<std::uint32_t>(std::stoul(t));
            if (auto s = field(line, "size"); !s.empty()) cur->size = static_cast<std::uint32_t>(std::stoul(s));
            if (auto n = field(line, "nr_elems"); !n.empty()) cur->nr_elems = static_cast<std::uint32_t>(std::stoul(n));
        } else if (cur != nullptr && line.starts_with("\t'") && (cur->kind == "FUNC_PROTO" || cur->kind == "STRUCT" || cur->kind == "UNION")) {
            std::string name = line.substr(2, line.find('\'', 2) - 2);
            if (name == "(anon)") name.clear();
            const auto t = static_cast<std::uint32_t>(std::stoul(field(line, "type_id")));
            if (cur->kind == "FUNC_PROTO") {
                cur->params.emplace_back(name, t);
            } else if (cur->kind == "STRUCT" || cur->kind == "UNION") {
                raw_member m{name, t, std::stoull(field(line, "bits_offset")), 0};
                if (auto bf = field(line, "bitfield_size"); !bf.empty()) m.bitfield = static_cast<std::uint32_t>(std::stoul(bf));
                cur->members.push_back(m);
            }
        }
    }
    ::pclose(p);
}

std::uint32_t skip(const std::map<std::uint32_t, raw_type>& t, std::uint32_t id) {
    for (int d = 0; d < 32 && id != 0; ++d) {
        const auto& k = t.at(id).kind;
        if (k != "TYPEDEF" && k != "CONST" && k != "VOLATILE" && k != "RESTRICT" && k != "TYPE_TAG") return id;
        id = t.at(id).type;
    }
    return id;
}

// Named members reachable from composite `id` (through anonymous ones), with their offsets.
void reachable(const std::map<std::uint32_t, raw_type>& t, std::uint32_t id, std::uint64_t base, std::vector<raw_member>& out,
               std::vector<std::string>& seen) {
    for (const auto& m : t.at(id).members) {
        if (!m.name.empty()) {
            if (std::find(seen.begin(), seen.end(), m.name) != seen.end()) continue;  // C finds the first
            seen.push_back(m.name);
            out.push_back({m.name, m.type, base + m.bits, m.bitfield});
            continue;
        }
        const std::uint32_t inner = skip(t, m.type);
        if (inner != 0 && (t.at(inner).kind == "STRUCT" || t.at(inner).kind == "UNION")) reachable(t, inner, base + m.bits, out, seen);
    }
}

// Random paths from random parameters of `funcs` (member steps through pointers, anonymous members
// and nested structs, chosen from bpftool's listing), resolved by btfkit and compared step by step.
int check_generated_paths(const btf& b, const std::map<std::uint32_t, raw_type>& raw, const std::vector<std::uint32_t>& funcs, int want,
                          std::uint32_t seed) {
    std::mt19937 rng(seed);
    int paths = 0, steps = 0, bitfields = 0, anon = 0;
    for (int attempt = 0; attempt < 40 * want && paths < want; ++attempt) {
        const std::uint32_t f = funcs[rng() % funcs.size()];
        const auto& proto = raw.at(raw.at(f).type);
        if (proto.params.empty()) continue;
        const std::size_t pi = rng() % proto.params.size();
        const auto& [pname, ptype] = proto.params[pi];
        std::string text = pname;
        std::vector<raw_member> expect;
        std::vector<bool> derefs;
        std::uint32_t cur = ptype;
        for (int depth = 0; depth < 4; ++depth) {
            std::uint32_t s = skip(raw, cur);
            bool deref = false;
            if (s != 0 && raw.at(s).kind == "PTR") {
                s = skip(raw, raw.at(s).type);
                deref = true;
            }
            if (s == 0 || (raw.at(s).kind != "STRUCT" && raw.at(s).kind != "UNION")) break;
            std::vector<raw_member> members;
            std::vector<std::string> seen;
            reachable(raw, s, 0, members, seen);
            if (members.empty()) break;
            const raw_member m = members[rng() % members.size()];
            const bool direct = std::any_of(raw.at(s).members.begin(), raw.at(s).members.end(), [&](const raw_member& d) { return d.name == m.name; });
            anon += direct ? 0 : 1;
            text += (deref ? "->" : ".") + m.name;
            expect.push_back(m);
            derefs.push_back(deref);
            cur = m.type;
            if (rng() % 3 == 0) break;
        }
        if (expect.empty()) continue;
        path_failure why;
        auto r = resolve_arg(b, f, text, &why);
        INFO(raw.at(f).name << "(" << text << ")");
        REQUIRE_MESSAGE(r.has_value(), explain_path(b, f, raw.at(f).name, text, why));
        CHECK(r->param_index == pi);
        REQUIRE(r->step_count == expect.size());
        for (std::size_t i = 0; i < expect.size(); ++i) {
            const path_step& s = r->steps[i];
            CHECK(s.member == expect[i].name);
            CHECK(s.byte_offset * 8 + s.bit_offset == expect[i].bits);
            CHECK(s.bitfield_size == expect[i].bitfield);
            CHECK(s.deref == derefs[i]);
            CHECK(s.type_id == expect[i].type);
            bitfields += expect[i].bitfield != 0 ? 1 : 0;
        }
        ++paths;
        steps += static_cast<int>(expect.size());
    }
    MESSAGE(paths << " paths, " << steps << " steps (" << anon << " through anonymous members, " << bitfields << " bitfields) match bpftool");
    return paths;
}

std::vector<std::uint32_t> funcs_of(const std::map<std::uint32_t, raw_type>& raw, std::uint32_t first = 0) {
    std::vector<std::uint32_t> out;
    for (const auto& [id, t] : raw) {
        if (t.kind == "FUNC" && id >= first) out.push_back(id);
    }
    return out;
}

}  // namespace

TEST_CASE("resolve_arg: offsets of generated paths match bpftool's raw dump of the running kernel") {
    const std::string path = "/sys/kernel/btf/vmlinux";
    std::map<std::uint32_t, raw_type> raw;
    bpftool_raw(path, raw);
    if (raw.empty()) {
        MESSAGE("skipped: no bpftool or no " << path);
        return;
    }
    byte_buffer data;
    REQUIRE(read_file_into(path, data).has_value());
    auto b = btf::parse({data.data(), data.size()});
    REQUIRE(b.has_value());
    CHECK(check_generated_paths(*b, raw, funcs_of(raw), 600, 20261206) >= 500);
}

TEST_CASE("resolve_arg: module functions' paths match bpftool on the Debian corpus (split BTF)") {
    const std::string corpus = BTFKIT_CORPUS_DIR;
    const std::string vmlinux = corpus + "/vmlinux";
    byte_buffer base_data;
    if (!read_file_into(vmlinux, base_data)) {
        MESSAGE("skipped: no Debian corpus (bench/corpus/fetch)");
        return;
    }
    auto base = btf::parse({base_data.data(), base_data.size()});
    REQUIRE(base.has_value());
    std::map<std::uint32_t, raw_type> raw;
    bpftool_raw(vmlinux, raw);
    REQUIRE_FALSE(raw.empty());
    int total = 0;
    for (const char* m : {"veth", "xfs", "btrfs", "nf_conntrack", "8021q"}) {
        const std::string path = corpus + "/modules/" + m;
        std::map<std::uint32_t, raw_type> with = raw;
        bpftool_raw(path, with, vmlinux);
        byte_buffer data;
        REQUIRE(read_file_into(path, data).has_value());
        auto b = btf::parse({data.data(), data.size()}, &*base);
        REQUIRE(b.has_value());
        INFO(std::string(m));
        total += check_generated_paths(*b, with, funcs_of(with, b->first_id()), 120, 7);
    }
    CHECK(total >= 400);
}

// Found by fuzz_trace_expr: a struct and a union that each hold the other anonymously twice (only
// malformed BTF) made the member search branch at every level, 2^32 calls for a missing name.
TEST_CASE("resolve_arg: composites holding each other anonymously end the search") {
    btf_builder w(byte_order::little);
    const auto i = w.add_int("int", 4, int_signed);                                         // 1
    w.add_struct("s", 16, {{"a", i, 0}, {"", 3, 32}, {"", 3, 64}, {"next", 4, 96}});      // 2
    w.add_union("", 8, {{"", 2, 0}, {"", 2, 0}});                                          // 3
    const auto ps = w.add_ptr(2);                                                            // 4
    const auto f = w.add_func("f", w.add_func_proto(i, {{"p", ps}}));
    const auto bytes = w.encode();
    REQUIRE(bytes.has_value());
    const auto b = btf::parse({bytes->data(), bytes->size()});
    REQUIRE(b.has_value());
    path_failure why;
    const auto r = resolve_arg(*b, f, "p->nosuch", &why);
    REQUIRE_FALSE(r.has_value());
    CHECK(why.problem == path_problem::no_member);
    CHECK(explain_path(*b, f, "f", "p->nosuch", why).starts_with("f(p->nosuch): struct s has no member 'nosuch' (closest: "));
    const auto a = resolve_arg(*b, f, "p->next->a");
    REQUIRE(a.has_value());
    CHECK(a->steps[1].byte_offset == 0);
}
