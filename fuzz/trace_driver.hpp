// fuzz_trace_expr's driver, shared with tests/test_regression.cpp: a ksnoop expression parsed, then each
// argument resolved against a function of real BTF (fuzz/targets/vmlinux-trace.btf) or of fuzzed BTF, and
// the failures explained. No crash, bounded output, termination on cyclic types, a stable answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "btfkit/os/files.hpp"
#include "btfkit/trace/arg_path.hpp"
#include "btfkit/trace/explain.hpp"
#include "drivers.hpp"

namespace btfkit::testing {

// The real BTF: a few kernel functions, their prototypes and the structs their paths walk.
class trace_env {
public:
    explicit trace_env(const std::string& dir) : vmlinux_(load(dir + "/vmlinux-trace.btf")) {}
    [[nodiscard]] const btf& vmlinux() const noexcept { return vmlinux_.parsed; }

private:
    static std::vector<char> load(const std::string& path) {
        byte_buffer buf;
        if (auto st = read_file_into(path, buf); !st) {
            std::fprintf(stderr, "cannot read %s (python3 fuzz/make_trace_seeds.py writes it): %s\n", path.c_str(),
                         st.error().message().c_str());
            std::abort();
        }
        return {buf.data(), buf.data() + buf.size()};
    }
    split_detail::base_blob vmlinux_;
};

namespace trace_detail {


// The FUNC named `name`, else the `pick`-th FUNC (modulo their count), else `pick` itself (no FUNC at all).
[[nodiscard]] inline std::uint32_t choose_function(const btf& b, std::string_view name, std::uint32_t pick) {
    std::vector<std::uint32_t> funcs;
    for (const type t : b.types()) {
        if (!t.is(kind::func)) continue;
        if (t.name() == name) return t.id();
        funcs.push_back(t.id());
    }
    return funcs.empty() ? pick : funcs[pick % funcs.size()];
}

// The longest string of `b`: no name, and so no part of a message, is longer.
[[nodiscard]] inline std::uint64_t longest_name(const btf& b) noexcept { return b.strings_size(); }

// c_type_name's output: every type it visits adds at most a name and a few tokens.
[[nodiscard]] inline std::uint64_t c_type_name_bound(const btf& b) noexcept {
    return max_c_type_visits * (longest_name(b) + 64);
}

[[nodiscard]] inline bool same_path(const arg_path& x, const arg_path& y) noexcept {
    if (x.param != y.param || x.param_index != y.param_index || x.is_return != y.is_return || x.step_count != y.step_count ||
        x.type_id != y.type_id || x.size != y.size || x.final_kind != y.final_kind)
        return false;
    for (std::size_t i = 0; i < x.step_count; ++i) {
        const path_step &s = x.steps[i], &t = y.steps[i];
        if (s.is_index != t.is_index || s.member != t.member || s.index != t.index || s.byte_offset != t.byte_offset ||
            s.bit_offset != t.bit_offset || s.bitfield_size != t.bitfield_size || s.deref != t.deref || s.type_id != t.type_id)
            return false;
    }
    return true;
}

// What a resolved path promises: valid ids, offsets inside what they step into (on real BTF, where
// members lie inside their structs and indexes inside their arrays), the final size its type's.
template <class W>
void check_path(W& w, const btf& b, std::uint32_t func_id, const arg_path& p, bool real) {
    const type proto = b[b[func_id].ref()];
    if (p.param_index > proto.vlen() || p.is_return != (p.param_index == proto.vlen() && p.param == "return"))
        w.violation("resolve_arg: parameter index out of range");
    if (p.step_count > max_path_steps) w.violation("resolve_arg: more steps than max_path_steps");
    if (!b.valid_id(p.type_id)) w.violation("resolve_arg: final type id invalid");
    const auto size = b.resolve_size(p.type_id);
    if (p.size != (size ? *size : 0)) w.violation("resolve_arg: size differs from resolve_size of the final type");
    std::uint32_t from = p.is_return ? proto.ref() : 0;
    if (!p.is_return) {
        for (const param q : proto.params()) {
            if (b.string(q.name_off) == p.param) { from = q.type; break; }
        }
    }
    for (std::size_t i = 0; i < p.step_count; ++i) {
        const path_step& s = p.steps[i];
        if (!b.valid_id(s.type_id) || s.type_id == 0) w.violation("resolve_arg: step type id invalid");
        if (s.bit_offset >= 8) w.violation("resolve_arg: bit offset past a byte");
        if (s.is_index == !s.member.empty()) w.violation("resolve_arg: a step both index and member, or neither");
        // Anonymous members nest at most max_anon_depth deep, each at most 2^32 bits in.
        if (!s.is_index && s.byte_offset > (std::uint64_t{max_anon_depth} + 2) << 29) w.violation("resolve_arg: member offset out of bounds");
        const auto step_size = b.resolve_size(s.type_id);
        if (real && !s.deref && step_size) {
            const auto holder = b.resolve_size(from);
            const std::uint64_t end = s.bitfield_size != 0 ? (s.byte_offset * 8 + s.bit_offset + s.bitfield_size + 7) / 8
                                                           : s.byte_offset + *step_size;
            if (holder && *holder != 0 && end > *holder) w.violation("resolve_arg: a step reads past the object it steps into");
        }
        from = s.type_id;
    }
}

}  // namespace trace_detail

// Input: a mode byte, then (bit 0 clear) the expression over the real BTF, or (bit 0 set) a u16 LE
// length, that many bytes of expression, and raw BTF. Bits 1-7 pick a FUNC when no FUNC has the
// expression's name. Every argument (each parameter and "return" for a bare "func") is resolved twice.
template <class W>
void run_trace_expr(W& w, byte_span in, const trace_env& env) {
    if (in.empty()) return;
    const auto mode = static_cast<unsigned char>(in[0]);
    std::string_view text(in.data() + 1, in.size() - 1);
    const btf* b = &env.vmlinux();
    btf fuzzed;
    const bool real = (mode & 1) == 0;
    if (!real) {
        if (in.size() < 3) return;
        const std::size_t n = static_cast<unsigned char>(in[1]) | (std::size_t{static_cast<unsigned char>(in[2])} << 8);
        if (n > in.size() - 3) return;
        text = std::string_view(in.data() + 3, n);
        auto parsed = btf::parse(in.subspan(3 + n));
        if (!parsed) return;
        fuzzed = std::move(*parsed);
        b = &fuzzed;
    }
    const auto e = parse_trace_expr(text);
    std::vector<std::string_view> args;
    std::string_view function;
    if (!e) {
        w.check_error(e.error());
        args.push_back(text);  // the whole text as one argument: the path lexer on anything
    } else {
        function = e->function;
        for (std::size_t i = 0; i < e->arg_count; ++i) {
            if (e->args[i].empty()) w.violation("parse_trace_expr: an empty argument");
            args.push_back(e->args[i]);
        }
    }
    const std::uint32_t func_id = trace_detail::choose_function(*b, function, mode >> 1);
    const bool is_func = b->valid_id(func_id) && (*b)[func_id].is(kind::func) && b->valid_id((*b)[func_id].ref()) &&
                         (*b)[(*b)[func_id].ref()].is(kind::func_proto);
    if (e && e->arg_count == 0 && is_func) {  // ksnoop's bare "func": every parameter, and the return value
        for (const param q : (*b)[(*b)[func_id].ref()].params()) args.push_back(b->string(q.name_off));
        args.push_back("return");
    }
    const std::uint64_t type_bound = trace_detail::c_type_name_bound(*b);
    for (const std::string_view arg : args) {
        path_failure why, again;
        const auto p = resolve_arg(*b, func_id, arg, &why);
        const auto q = resolve_arg(*b, func_id, arg, &again);
        if (p.has_value() != q.has_value()) { w.violation("resolve_arg: a second resolution differs"); continue; }
        if (p) {
            if (!is_func) w.violation("resolve_arg: resolved over no function");
            if (!trace_detail::same_path(*p, *q)) w.violation("resolve_arg: a second resolution differs");
            trace_detail::check_path(w, *b, func_id, *p, real);
            for (std::size_t i = 0; i < p->step_count; ++i) {
                if (c_type_name(*b, p->steps[i].type_id).size() > type_bound) w.violation("c_type_name: output past its bound");
            }
            if (c_type_name(*b, p->type_id).size() > type_bound) w.violation("c_type_name: output past its bound");
            continue;
        }
        w.check_error(p.error());
        if (p.error().code != q.error().code || why.problem != again.problem || why.at != again.at || why.step != again.step ||
            why.type_id != again.type_id || why.name != again.name)
            w.violation("resolve_arg: a second failure differs");
        if (why.problem == path_problem::none) w.violation("resolve_arg: a failure without a problem");
        if (why.at > arg.size()) w.violation("resolve_arg: failure offset past the argument");
        const std::string msg = explain_path(*b, func_id, function, arg, why);
        // The expression three times, one type's name, and a dozen alternatives (names of b).
        const std::uint64_t bound = 3 * (function.size() + arg.size()) + type_bound + 16 * (trace_detail::longest_name(*b) + 2) + 256;
        if (msg.empty()) w.violation("explain_path: empty message");
        if (msg.size() > bound) w.violation("explain_path: message past its bound");
    }
}

}  // namespace btfkit::testing
