// vmlinux plus module BTFs as one target source. Modules are registered by name and read through a
// loader only when a lookup needs them; only modules that hold a candidate are kept, parsed.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/candidates.hpp"
#include "../error.hpp"
#include "../format/btf.hpp"
#include "../index/module_index.hpp"
#include "../index/name_hits.hpp"
#include "../index/name_index.hpp"
#include "../memory.hpp"
#include "../runtime/module_scan.hpp"
#include "../runtime/name_pass.hpp"
#include "prefetch_plan.hpp"

namespace btfkit {

// Lookups answer "the types of this name in this name space" one way (for_each_named): from a name
// pass that took the name, else from the space's indexes, built when first needed (vmlinux's name
// index; the module index, every module read once on two threads). Each indexed name space (types,
// symbols) has its own indexes and pass, so a lookup in one never builds the other's. How the answers
// get prepared ahead (prefetch's plan, an index cache, the indexes built now) is separate from that path.
// A module that fails to read or parse is skipped with a warning; the others keep working.
// Lookups read modules and build indexes, so they are not const, and a target set is for one thread
// at a time; a name_index or an indexed_target, which nothing changes, is for many.
class target_set {
public:
    using loader = module_loader;
    // Gives the upper half for TYPE_ID_TARGET of a module (fd or id). 0 or an errc::not_found error
    // means none is known (the half stays 0, reported); any other error fails the relocation.
    using upper_resolver = std::function<result<std::uint32_t>(std::uint32_t module, fd_encoding)>;
    using index_listener = std::function<void(const target_set&)>;

    // `index_vmlinux = false` leaves the vmlinux name index to build_vmlinux_index(), an index cache
    // or the first lookup that needs it (the names of a prefetch need none).
    explicit target_set(const btf& vmlinux, bool index_vmlinux = true) : vmlinux_(&vmlinux) {
        if (index_vmlinux) build_vmlinux_index();
    }
    target_set(const target_set&) = delete;
    target_set& operator=(const target_set&) = delete;

    // ---- the targets ----
    // Registers a module; returns its target index (1-based: 0 is vmlinux).
    std::uint32_t add_module(std::string name) {
        modules_.push_back(std::make_unique<module>());
        modules_.back()->name = std::move(name);
        for (space_state& st : spaces_) {  // (thousands of modules get added: only what is there is reset)
            st.modules.reset();
            if (!st.hits.empty()) st.hits = {};
        }
        return static_cast<std::uint32_t>(modules_.size());
    }
    void set_loader(loader l) { loader_ = std::move(l); }
    void set_upper_resolver(upper_resolver r) { resolver_ = std::move(r); }
    // Called each time an index has been built here (not when it was borrowed): the moment to save
    // them (index_cache.hpp).
    void set_index_listener(index_listener f) { listener_ = std::move(f); }
    // Caller-provided module BTF fd (or id), used for TYPE_ID_TARGET's upper half.
    void set_module_fd(std::uint32_t target, int fd) { modules_.at(target - 1)->fd = fd; }
    void set_module_btf_id(std::uint32_t target, std::uint32_t id) { modules_.at(target - 1)->btf_id = id; }

    [[nodiscard]] std::uint32_t target_count() const noexcept { return static_cast<std::uint32_t>(modules_.size()) + 1; }
    [[nodiscard]] std::string_view target_name(std::uint32_t t) const noexcept {
        return t == 0 ? std::string_view{"vmlinux"} : std::string_view{modules_[t - 1]->name};
    }
    [[nodiscard]] const btf& vmlinux() const noexcept { return *vmlinux_; }
    // The parsed module, if it has been opened (because a lookup found a candidate in it).
    [[nodiscard]] const btf* module_btf(std::uint32_t t) const noexcept {
        return t == 0 ? vmlinux_ : (modules_[t - 1]->parsed ? &*modules_[t - 1]->parsed : nullptr);
    }
    // The same, under the name candidate_source gives it.
    [[nodiscard]] const btf* target_btf(std::uint32_t t) const noexcept { return module_btf(t); }
    [[nodiscard]] std::uint32_t modules_opened() const noexcept {
        std::uint32_t n = 0;
        for (const auto& m : modules_) n += m->parsed ? 1u : 0u;
        return n;
    }
    // Why module i (0-based) was skipped; empty if it was not. `by_os`: the OS refused to read it,
    // which may pass (an index cache does not record such a failure).
    [[nodiscard]] std::string_view module_failure(std::uint32_t i) const noexcept { return modules_[i]->failure; }
    [[nodiscard]] bool module_failed(std::uint32_t i, bool* by_os = nullptr) const noexcept {
        if (by_os != nullptr) *by_os = modules_[i]->io_failure;
        return modules_[i]->failed;
    }
    [[nodiscard]] const std::vector<std::string>& warnings() const noexcept { return warnings_; }

    // ---- the one lookup path ----
    // Calls f(btf, id, target) for the types of name space `sp` in group `g` whose name is `key` (an
    // essential name; a whole name for symbols), in target then id order. any_kind has no index:
    // every type is compared, and in the modules group every module is opened, as libbpf scans them.
    template <class F>
    status for_each_named(target_group g, std::string_view key, name_space sp, F&& f) {
        if (g == target_group::vmlinux) {
            if (sp == name_space::any_kind) {
                scan_named(*vmlinux_, 0, vmlinux_->first_id(), key, sp, f);
                return {};
            }
            vmlinux_entries(sp, key, [&](std::uint32_t id) { f(*vmlinux_, id, std::uint32_t{0}); });
            return {};
        }
        if (sp == name_space::any_kind) {
            for (std::uint32_t t = 1; t <= modules_.size(); ++t) {
                if (const btf* b = open_module(t)) scan_named(*b, t, b->first_id(), key, sp, f);
            }
            return {};
        }
        return module_entries(sp, key, [&](std::uint32_t t, std::uint32_t local) {
            const btf* b = open_module(t);
            if (b == nullptr) return;
            const std::uint32_t id = b->first_id() + local;
            if (id < b->type_count() && key_matches(sp, (*b)[id].name(), key)) f(*b, id, t);
        });
    }
    // Every type of name space `sp` across vmlinux and all modules whose name is `key` (essential;
    // whole for symbols).
    status find(std::string_view key, std::vector<candidate>& out, name_space sp = name_space::types) {
        auto add = [&](const btf& b, std::uint32_t id, std::uint32_t t) { out.push_back(candidate{&b, id, t}); };
        BTFKIT_TRY(for_each_named(target_group::vmlinux, key, sp, add));
        return for_each_named(target_group::modules, key, sp, add);
    }
    [[nodiscard]] result<std::uint32_t> upper_bits(std::uint32_t t, fd_encoding enc) {
        if (t == 0 || enc == fd_encoding::none) return std::uint32_t{0};
        module& m = *modules_[t - 1];
        if (enc == fd_encoding::btf_fd && m.fd >= 0) return static_cast<std::uint32_t>(m.fd);
        if (enc == fd_encoding::btf_id && m.btf_id != 0) return m.btf_id;
        if (!resolver_) return error(errc::not_found, "no kernel BTF fd or id for this module").about(m.name);
        return resolver_(t, enc);  // asked each time: it may check that the module is still loaded
    }

    // ---- preparing the answers ----
    // Builds vmlinux's name index of space `sp` now (otherwise the first lookup that needs it does).
    void build_vmlinux_index(name_space sp = name_space::types) {
        space_state& st = state(sp);
        st.vmlinux = sp == name_space::types ? name_index::build(*vmlinux_, vmlinux_hashes_) : name_index::build(*vmlinux_, sp);
        if (sp == name_space::types) vmlinux_hashes_ = {};
        if (listener_) listener_(*this);
    }
    // vmlinux's name hashes of the types space, taken while it was parsed (parse_two_threads):
    // build_vmlinux_index, when it runs, only inserts them.
    void keep_vmlinux_hashes(named_hashes h) { vmlinux_hashes_ = std::move(h); }
    // Builds the module index of space `sp` now (otherwise the first module lookup does).
    status build_module_index(name_space sp = name_space::types) {
        space_state& st = state(sp);
        if (st.modules) return {};
        BTFKIT_TRY(check_module_count());
        static const loader none = [](std::uint32_t, byte_buffer&) -> status { return error(errc::not_found, "no module loader"); };
        auto built = btfkit::build_module_index(module_count(), failed_flags(), loader_ ? loader_ : none, *vmlinux_, sp);
        fail_all(built.failures);
        st.modules = std::move(built.index);
        if (listener_) listener_(*this);
        return {};
    }
    // Opens now every module that lookups of these keys in space `sp` would open, so that those
    // lookups find them ready: the same modules and the same answers, sooner (plan_prefetch says how).
    // Modules that fail are skipped with a warning, as in a lookup.
    status prefetch(std::span<const std::string_view> keys, name_space sp = name_space::types) {
        if (keys.empty() || sp == name_space::any_kind) return {};
        const space_state& st = state(sp);
        bool covered = !st.hits.empty();
        for (const std::string_view e : keys) covered = covered && st.hits.covers(name_hash(e));
        const prefetch_plan plan = plan_prefetch(prefetch_state{covered, !st.hits.empty(), !modules_.empty(), st.modules.has_value(),
                                                                static_cast<bool>(listener_), static_cast<bool>(loader_),
                                                                modules_opened() != 0, vmlinux_index_ready(sp)});
        if (plan.pass) {
            if (plan.pass_modules) BTFKIT_TRY(check_module_count());
            name_pass p(keys, plan.pass_modules ? module_count() : 0u, loader_, failed_flags(), sp);
            p.base_parsed(*vmlinux_);
            p.start();
            BTFKIT_TRY(install(p));
        }
        return plan.open_listed ? open_listed(keys, sp) : status{};
    }
    // Opens every module whose name satisfies in_module(name) and that holds a type of space `sp`
    // for which wanted(kind, name) holds (`name` a NUL-terminated string): for lookups by pattern,
    // which no index answers. Modules open
    // already are scanned, the others read once each (on two threads; wanted must allow that). Returns
    // those targets, in order; modules that fail are skipped with a warning, as in a lookup.
    template <class InModule, class Wanted>
    std::vector<std::uint32_t> open_modules_where(name_space sp, InModule&& in_module, Wanted&& wanted) {
        std::vector<std::uint32_t> out;
        std::vector<bool> skip = failed_flags();
        for (std::uint32_t t = 1; t <= modules_.size(); ++t) {
            const module& m = *modules_[t - 1];
            if (m.failed) continue;
            const bool in = in_module(std::string_view(m.name));
            skip[t - 1] = !in || m.parsed.has_value();  // read: the modules wanted and not open yet
            if (!in || !m.parsed) continue;
            for (std::uint32_t id = m.parsed->first_id(); id < m.parsed->type_count(); ++id) {
                const kind k = m.parsed->kind_of(id);
                const std::uint32_t off = m.parsed->name_off_of(id);
                if (in_name_space(k, sp) && off != 0 && wanted(k, m.parsed->string_ptr(off))) {
                    out.push_back(t);
                    break;
                }
            }
        }
        if (loader_ && std::find(skip.begin(), skip.end(), false) != skip.end()) {
            auto found = btfkit::open_modules_where(module_count(), skip, loader_, *vmlinux_, sp, wanted);
            fail_all(found.failures);
            for (auto& [j, b] : found.opened) {
                modules_[j]->parsed.emplace(std::move(b));
                out.push_back(j + 1);
            }
            for (auto& a : found.arenas) arena_.adopt(std::move(a));
        }
        std::sort(out.begin(), out.end());
        return out;
    }
    // Takes a name pass started over this set's modules (same count and loader) before any lookup
    // (file_targets does this for target_options::prefetch): finishes it here and keeps what it found,
    // as prefetch of its names would. vmlinux must have been given to it (base_parsed).
    status adopt(name_pass& p) {
        if (p.base() != vmlinux_) return error(errc::unsupported, "name pass over another vmlinux");
        const space_state& st = state(p.space());
        if ((p.module_count() != 0 && p.module_count() != modules_.size()) || st.modules || !st.hits.empty() || modules_opened() != 0) {
            return error(errc::unsupported, "a name pass is for a target set no lookup has used, over the same modules");
        }
        return install(p);
    }
    // Borrows indexes of space `sp` saved earlier (index_cache::load): vmlinux's name index and the
    // module index, each if saved, and the failures recorded with the module index ((module index,
    // why), in module order).
    void use_indexes(name_space sp, std::optional<name_index> vmlinux, std::optional<module_index> modules,
                     std::span<const std::pair<std::uint32_t, std::string>> failures) {
        space_state& st = state(sp);
        if (vmlinux) st.vmlinux = std::move(*vmlinux);
        if (!modules) return;
        st.modules = std::move(modules);
        for (const auto& [i, why] : failures) {
            if (!modules_[i]->failed) fail(*modules_[i], why, false);
        }
    }

    // ---- state ----
    [[nodiscard]] std::uint32_t module_count() const noexcept { return static_cast<std::uint32_t>(modules_.size()); }
    // Empty until built (see the constructor).
    [[nodiscard]] const name_index& vmlinux_index(name_space sp = name_space::types) const noexcept { return state(sp).vmlinux; }
    // Built, or borrowed from a cache (a built or borrowed index has at least 16 slots).
    [[nodiscard]] bool vmlinux_index_ready(name_space sp = name_space::types) const noexcept { return !state(sp).vmlinux.slots().empty(); }
    [[nodiscard]] const module_index* modules_index(name_space sp = name_space::types) const noexcept {
        return state(sp).modules ? &*state(sp).modules : nullptr;
    }
    [[nodiscard]] bool module_index_ready(name_space sp = name_space::types) const noexcept { return state(sp).modules.has_value(); }
    [[nodiscard]] std::size_t index_memory_bytes() const noexcept {
        std::size_t n = 0;
        for (const space_state& st : spaces_) n += st.vmlinux.memory_bytes() + (st.modules ? st.modules->memory_bytes() : 0) + st.hits.memory_bytes();
        return n;
    }

private:
    struct module {
        std::string name;
        std::string failure;        // why it was skipped, if it was
        bool io_failure = false;    // ... and whether the OS said no
        bool failed = false;
        std::optional<btf> parsed;  // over its bytes in arena_, once it holds a candidate
        int fd = -1;
        std::uint32_t btf_id = 0;
    };

    // The indexes of one name space, and what a name pass in it found.
    struct space_state {
        name_index vmlinux{};
        std::optional<module_index> modules{};
        name_hits hits{};
    };
    [[nodiscard]] space_state& state(name_space sp) noexcept { return spaces_[static_cast<std::size_t>(sp)]; }
    [[nodiscard]] const space_state& state(name_space sp) const noexcept { return spaces_[static_cast<std::size_t>(sp)]; }

    // Calls f(id) for vmlinux's types of space `sp` named `key`, in id order.
    template <class F>
    void vmlinux_entries(name_space sp, std::string_view key, F&& f) {
        space_state& st = state(sp);
        if (!vmlinux_index_ready(sp)) {
            const std::uint32_t h = name_hash(key);
            if (st.hits.has_vmlinux && st.hits.covers(h)) {
                name_hits::each(st.hits.vmlinux, h, [&](std::uint32_t id) {
                    if (key_matches(sp, (*vmlinux_)[id].name(), key)) f(id);
                });
                return;
            }
            build_vmlinux_index(sp);
        }
        st.vmlinux.for_each(*vmlinux_, key, f);
    }
    // Calls f(target, own index) for the module entries of space `sp` whose hash is the key's (hash
    // collisions included: the caller compares names), in module order then id order.
    template <class F>
    status module_entries(name_space sp, std::string_view key, F&& f) {
        if (modules_.empty()) return {};
        space_state& st = state(sp);
        const std::uint32_t h = name_hash(key);
        auto unpack = [&](std::uint32_t e) {
            const std::uint32_t t = module_entry::module_of(e) + 1;
            if (t <= modules_.size()) f(t, module_entry::local_of(e));
        };
        if (!st.modules && st.hits.has_modules && st.hits.covers(h)) {
            name_hits::each(st.hits.modules, h, unpack);
            return {};
        }
        BTFKIT_TRY(build_module_index(sp));
        st.modules->for_each(h, unpack);
        return {};
    }

    // The rest of pass p, and what it found kept: its hits, its opened modules, its failures.
    status install(name_pass& p) {
        if (p.module_count() != 0) BTFKIT_TRY(check_module_count());
        auto out = p.finish(!vmlinux_index_ready(p.space()));
        fail_all(out.unread);  // as the module index reports them, then as opening does
        fail_all(out.unparsed);
        for (auto& [j, b] : out.opened) modules_[j]->parsed.emplace(std::move(b));
        for (auto& a : out.arenas) arena_.adopt(std::move(a));
        state(p.space()).hits = std::move(out.hits);
        return {};
    }
    // Opens the modules the module index of space `sp` lists for these keys: on two threads from
    // thread_min_modules of them, each thread with its own arena (adopted here).
    status open_listed(std::span<const std::string_view> keys, name_space sp) {
        BTFKIT_TRY(build_module_index(sp));
        std::vector<std::uint32_t> want;
        for (const std::string_view e : keys) {
            BTFKIT_TRY(module_entries(sp, e, [&](std::uint32_t t, std::uint32_t) {
                const module& m = *modules_[t - 1];
                if (!m.parsed && !m.failed) want.push_back(t);
            }));
        }
        std::sort(want.begin(), want.end());
        want.erase(std::unique(want.begin(), want.end()), want.end());
        if (want.size() < detail::thread_min_modules || !loader_) {
            for (const std::uint32_t t : want) (void)open_module(t);
            return {};
        }
        chunk_arena second(detail::huge_block_bytes);
        auto opened = open_modules(want, loader_, *vmlinux_, arena_, second);
        arena_.adopt(std::move(second));
        for (std::size_t i = 0; i < want.size(); ++i) {
            module& m = *modules_[want[i] - 1];
            if (opened.parsed[i]) m.parsed = std::move(opened.parsed[i]);
            else fail(m, opened.errors[i]);
        }
        return {};
    }
    const btf* open_module(std::uint32_t t) {
        module& m = *modules_[t - 1];
        if (m.parsed) return &*m.parsed;
        if (m.failed || !loader_) return nullptr;
        auto bytes = load_into(loader_, t, scratch_, arena_);
        auto b = bytes ? btf::parse(*bytes, vmlinux_, &arena_) : result<btf>(bytes.error());
        if (!b) {
            fail(m, b.error());
            return nullptr;
        }
        m.parsed.emplace(std::move(*b));
        return &*m.parsed;
    }

    [[nodiscard]] status check_module_count() const {
        if (modules_.size() >= module_entry::max_modules) return error(errc::unsupported, "too many modules for the index").got(modules_.size());
        return {};
    }
    [[nodiscard]] std::vector<bool> failed_flags() const {
        std::vector<bool> skip;
        for (const auto& m : modules_) skip.push_back(m->failed);
        return skip;
    }
    void fail_all(const std::vector<btfkit::module_failure>& failures) {
        for (const auto& [i, e] : failures) fail(*modules_[i], e);
    }
    void fail(module& m, const error& e) { fail(m, e.message(), e.code == errc::io); }
    void fail(module& m, std::string why, bool by_os) {
        m.failed = true;
        m.io_failure = by_os;
        warnings_.push_back("module " + m.name + " skipped: " + why);
        m.failure = std::move(why);
    }

    const btf* vmlinux_;
    std::array<space_state, indexed_name_spaces> spaces_{};
    named_hashes vmlinux_hashes_{};  // see keep_vmlinux_hashes
    // Opened modules' bytes and id tables (and the loader's buffer): it outlives everything that
    // points into it, since members go in reverse order.
    chunk_arena arena_{};
    std::vector<std::unique_ptr<module>> modules_{};
    loader loader_{};
    upper_resolver resolver_{};
    index_listener listener_{};
    std::vector<std::string> warnings_{};
    byte_buffer scratch_{default_init_allocator<char>(&arena_)};  // what the loader reads
};

}  // namespace btfkit
