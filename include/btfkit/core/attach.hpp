// A program's load attributes as libbpf derives them from its section name: program type, expected
// attach type, and for BTF-attached programs (fentry, fexit, fmod_ret, lsm, tp_btf, iter) the kernel
// type they attach to, looked up in vmlinux and then the modules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "candidates.hpp"
#include "prog_sections.hpp"

namespace btfkit {

// What a loader passes in BPF_PROG_LOAD for one program. `attach_name` (the type looked up, such as
// "btf_trace_sched_switch") is owned, so that the value outlives the section name it came from.
struct program_load {
    const section_def* def = nullptr;  // null: a section name libbpf does not know
    prog_type type = prog_type::unspec;
    attach_type expected_attach{};
    bool sleepable = false;
    bool needs_attach_btf = false;  // fentry and friends: attach_btf_id (and a module's attach_btf_obj_fd)
    bool has_target = false;
    std::uint32_t target = 0;       // 0 = vmlinux
    std::uint32_t attach_btf_id = 0;
    std::string attach_name{};
    error err{};                    // needs_attach_btf, and the target is missing or not found
};

// What libbpf asks the running kernel before it loads (its feature probes), where that changes the
// load attributes. For file targets there is no kernel to ask: a caller says, or takes the defaults.
struct kernel_features {
    bool uprobe_multi_links = false;  // 1.7 loads usdt programs as BPF_TRACE_UPROBE_MULTI where true
};

// libbpf's program setup and attach-target lookup (find_kernel_btf_id) for a section name. From 1.5
// on, "fentry/MODULE:FUNC" searches only the BTFs whose names start with MODULE ("vmlinux" for the
// kernel), as libbpf compares them.
template <class Targets>
constexpr result<program_load> resolve_program_load(Targets& targets, std::string_view section, libbpf_compat compat = libbpf_compat_latest,
                                                    kernel_features kernel = {}) {
    program_load p;
    if (section.starts_with('?')) section.remove_prefix(1);
    p.def = find_section_def(section, compat);
    if (p.def == nullptr) return p;
    p.type = p.def->type;
    p.expected_attach = p.def->expected_attach;
    if ((p.def->flags & sec_usdt) != 0 && compat != libbpf_compat::v1_1 && kernel.uprobe_multi_links) {
        p.expected_attach = attach_type::trace_uprobe_multi;
    }
    p.sleepable = (p.def->flags & sec_sleepable) != 0;
    p.needs_attach_btf = (p.def->flags & sec_attach_btf) != 0;
    if (!p.needs_attach_btf) return p;
    if (p.type == prog_type::ext) {
        p.err = error(errc::unsupported, "freplace attaches to a BPF program, which the loader names (attach_prog_fd)").about(section);
        return p;
    }
    const std::size_t slash = section.find('/');
    if (slash == std::string_view::npos) {
        p.err = error(errc::not_found, "no BTF attach target in the section name (SEC(\"type/target\"))").about(section);
        return p;
    }
    std::string_view name = section.substr(slash + 1), module;
    bool any_module = true;
    if (const std::size_t colon = name.find(':'); compat != libbpf_compat::v1_1 && colon != std::string_view::npos) {
        module = name.substr(0, colon);
        name.remove_prefix(colon + 1);
        any_module = false;
    }
    const attach_lookup how = attach_lookup_of(p.expected_attach);
    p.attach_name.reserve(how.prefix.size() + name.size());
    p.attach_name.append(how.prefix);
    p.attach_name.append(name);
    // FUNCs are symbols, compared whole; a typedef is a type, found by its essential name and then
    // compared whole, as libbpf's btf__find_by_name_kind does.
    const name_space space = how.target_kind == kind::func ? name_space::symbols : name_space::types;
    const std::string_view key = space == name_space::symbols ? std::string_view(p.attach_name) : essential_name(p.attach_name);
    const auto btf_wanted = [&](std::string_view btf_name) { return any_module || btf_name.substr(0, module.size()) == module; };
    auto found = first_named(targets, key, space, [&](const btf& b, std::uint32_t id, std::uint32_t t) {
        return b.kind_of(id) == how.target_kind && b[id].name() == p.attach_name && btf_wanted(targets.target_name(t));
    });
    if (!found) return found.error();
    if (*found) {
        p.has_target = true;
        p.target = (*found)->target;
        p.attach_btf_id = (*found)->id;
        return p;
    }
    p.err = error(errc::not_found, "attach target not found in kernel or module BTFs").about(p.attach_name);
    return p;
}

}  // namespace btfkit
