// The candidate stage of CO-RE (libbpf's bpf_core_find_cands): the target types a local root type may
// match, collected from a target source by the candidate rule (relo_rules.hpp), vmlinux first.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "relo_rules.hpp"

namespace btfkit {

// How TYPE_ID_TARGET marks a type that lives in a module BTF: in the ldimm64's upper 32 bits.
enum class fd_encoding : std::uint8_t { none, btf_fd, btf_id };

struct relocate_options {
    bool search_all_targets = false;  // libbpf: modules only when vmlinux has no candidate
    bool fwd_extension = true;        // local FWD may match a target STRUCT/UNION
    fd_encoding encoding = fd_encoding::btf_fd;
    bool skip_non_autoload = true;    // libbpf skips programs in SEC("?...")
    bool stop_at_first_error = false; // libbpf stops; a tool wants to see every relocation
    libbpf_compat compat = libbpf_compat_latest;  // whose rules where libbpf releases differ (relo_rules.hpp)
};

// A candidate target type: which BTF, which id, and which target (0 = vmlinux / the main target).
struct candidate {
    const btf* owner = nullptr;
    std::uint32_t id = 0;
    std::uint32_t target = 0;
};

// The two groups a target source searches in turn: vmlinux (target 0), then the modules.
enum class target_group : std::uint8_t { vmlinux, modules };

namespace detail {
// The visitor a candidate source is handed, as a concept can name it: f(btf, type id, target).
struct named_type_visitor {
    constexpr void operator()(const btf&, std::uint32_t, std::uint32_t) const noexcept {}
};
}  // namespace detail

// What relocation needs of a target source (single_target, indexed_target, target_set, or a caller's):
// - for_each_named(group, key, space, f): the types of `group` (vmlinux, then the modules) whose name
//   is `key` in name space `space`, as f(btf, type id, target) in target then id order. For relocation
//   `key` is a local type's essential name and `space` follows from the local kind: name_space::types
//   for an indexed_kind, else any_kind (every type of that essential name). The candidate rule
//   (candidate_round) is applied by the caller, once, for every source. A status error fails the
//   relocations that asked.
// - target_count() and target_btf(target): the targets (0 is vmlinux), and each one's BTF view (null
//   while a module has not been opened).
// - upper_bits(target, encoding): the upper 32 bits of TYPE_ID_TARGET for a type of `target` (0 for
//   vmlinux); errc::not_found when none is known (the half stays 0, with a warning), any other error
//   fails the relocation.
// Lookups may be non-const (a source may open modules or build indexes as they come).
template <class S>
concept candidate_source = requires(S& src, target_group g, std::string_view key, name_space sp, std::uint32_t target, fd_encoding e) {
    { src.for_each_named(g, key, sp, detail::named_type_visitor{}) } -> std::same_as<status>;
    { src.target_count() } -> std::convertible_to<std::uint32_t>;
    { src.target_btf(target) } -> std::convertible_to<const btf*>;
    { src.upper_bits(target, e) } -> std::same_as<result<std::uint32_t>>;
};

// The first type named `key` in name space `space` that keep(b, id, target) accepts: in vmlinux, else in
// the first module (target order) that has one; the lowest id within a target. libbpf's lookups of
// ksyms, kfuncs and attach targets (btf__find_by_name_kind over vmlinux, then each module in turn).
template <class Source, class Keep>
constexpr result<std::optional<candidate>> first_named(Source& src, std::string_view key, name_space space, Keep&& keep) {
    for (const target_group g : {target_group::vmlinux, target_group::modules}) {
        std::optional<candidate> best;
        BTFKIT_TRY(src.for_each_named(g, key, space, [&](const btf& b, std::uint32_t id, std::uint32_t t) {
            if (!keep(b, id, t)) return;
            if (!best || t < best->target || (t == best->target && id < best->id)) best = candidate{&b, id, t};
        }));
        if (best) return best;
    }
    return std::optional<candidate>{};
}

// Calls f(b, id, target) for each type of name space `sp` in `b` (target `target`) from `first_id` on
// whose name is `key` (essential; whole for symbols), in id order: libbpf's linear scan, for kinds no
// index holds and for sources without an index.
template <class F>
constexpr void scan_named(const btf& b, std::uint32_t target, std::uint32_t first_id, std::string_view key, name_space sp, F&& f) {
    for (std::uint32_t id = first_id; id < b.type_count(); ++id) {
        if (sp != name_space::any_kind && !in_name_space(b.kind_of(id), sp)) continue;
        const std::string_view n = b[id].name();
        if (compares_essential(sp) ? (n.empty() || essential_name_len(n) != key.size() || n.substr(0, key.size()) != key) : n != key) continue;
        f(b, id, target);
    }
}

// Appends to `out` the candidates for local type `local` of essential name `essential`, in libbpf's
// order: for each round of the candidate rule, vmlinux's, then the modules' (only if vmlinux had none,
// unless search_all_targets); the first round that finds any is the answer.
// `src.for_each_named(group, essential, space, f)` calls f(btf, id, target) for the types of that
// essential name in the group, in target then id order: of name_space::types when the local kind is
// an indexed_kind, so an index may answer; else of any_kind, every type a candidate for the compare.
template <class Source>
constexpr status collect_candidates(Source& src, const type& local, std::string_view essential, const relocate_options& o,
                                    std::vector<candidate>& out) {
    const kind lk = local.kind();
    const bool kflag = local.kflag();
    const name_space sp = indexed_kind(lk) ? name_space::types : name_space::any_kind;
    const int rounds = candidate_rounds_for(lk, o.fwd_extension);
    for (int round = 1; round <= rounds; ++round) {
        const std::size_t before = out.size();
        for (const target_group g : {target_group::vmlinux, target_group::modules}) {
            if (g == target_group::modules && out.size() != before && !o.search_all_targets) break;
            BTFKIT_TRY(src.for_each_named(g, essential, sp, [&](const btf& b, std::uint32_t id, std::uint32_t target) {
                if (candidate_round(lk, kflag, b.kind_of(id), o.fwd_extension) == round) out.push_back(candidate{&b, id, target});
            }));
        }
        if (out.size() != before) break;
    }
    return {};
}

}  // namespace btfkit
