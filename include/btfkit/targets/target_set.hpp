// vmlinux plus module BTFs as one target source. Modules are registered by name and read through a
// loader only when a lookup needs them; only modules that hold a candidate are kept, parsed.
#pragma once

#include <algorithm>
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

// Lookups answer "the types of this essential name" one way (for_each_named): from a name pass that
// took the name, else from the indexes, built when first needed (vmlinux's name index; the module
// index, every module read once on two threads). How the answers get prepared ahead (prefetch's
// plan, an index cache, the indexes built now) is separate from that path.
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
        module_index_.reset();
        hits_ = {};
        return static_cast<std::uint32_t>(modules_.size());
    }
    void set_loader(loader l) { loader_ = std::move(l); }
    void set_upper_resolver(upper_resolver r) { resolver_ = std::move(r); }
    // Called once the module index has been built by reading the modules (not when it was borrowed):
    // the moment to save it (index_cache.hpp).
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
    // Calls f(btf, id, target) for the types in group `g` whose essential name is `essential`, in
    // target then id order (`indexed`: only types of an indexed_kind are wanted; else every type is
    // compared, and in the modules group every module is opened, as libbpf scans them).
    template <class F>
    status for_each_named(target_group g, std::string_view essential, bool indexed, F&& f) {
        if (g == target_group::vmlinux) {
            if (!indexed) {
                scan_named(*vmlinux_, 0, vmlinux_->first_id(), essential, f);
                return {};
            }
            vmlinux_entries(essential, [&](std::uint32_t id) { f(*vmlinux_, id, std::uint32_t{0}); });
            return {};
        }
        if (!indexed) {
            for (std::uint32_t t = 1; t <= modules_.size(); ++t) {
                if (const btf* b = open_module(t)) scan_named(*b, t, b->first_id(), essential, f);
            }
            return {};
        }
        return module_entries(essential, [&](std::uint32_t t, std::uint32_t local) {
            const btf* b = open_module(t);
            if (b == nullptr) return;
            const std::uint32_t id = b->first_id() + local;
            if (id < b->type_count() && essential_name((*b)[id].name()) == essential) f(*b, id, t);
        });
    }
    // Every type of an indexed kind across vmlinux and all modules whose essential name is `essential`.
    status find(std::string_view essential, std::vector<candidate>& out) {
        auto add = [&](const btf& b, std::uint32_t id, std::uint32_t t) { out.push_back(candidate{&b, id, t}); };
        BTFKIT_TRY(for_each_named(target_group::vmlinux, essential, true, add));
        return for_each_named(target_group::modules, essential, true, add);
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
    void build_vmlinux_index() {
        vmlinux_index_ = name_index::build(*vmlinux_, vmlinux_hashes_);
        vmlinux_hashes_ = {};
    }
    // vmlinux's name hashes, taken while it was parsed (parse_two_threads): build_vmlinux_index, when
    // it runs, only inserts them.
    void keep_vmlinux_hashes(named_hashes h) { vmlinux_hashes_ = std::move(h); }
    // Builds the module index now (otherwise the first module lookup does).
    status build_module_index() {
        if (module_index_) return {};
        BTFKIT_TRY(check_module_count());
        static const loader none = [](std::uint32_t, byte_buffer&) -> status { return error(errc::not_found, "no module loader"); };
        auto built = btfkit::build_module_index(module_count(), failed_flags(), loader_ ? loader_ : none, *vmlinux_);
        fail_all(built.failures);
        module_index_ = std::move(built.index);
        if (listener_) listener_(*this);
        return {};
    }
    // Opens now every module that lookups of these essential names would open, so that those lookups
    // find them ready: the same modules and the same answers, sooner (plan_prefetch says how). Modules
    // that fail are skipped with a warning, as in a lookup.
    status prefetch(std::span<const std::string_view> essentials) {
        if (essentials.empty()) return {};
        bool covered = !hits_.empty();
        for (const std::string_view e : essentials) covered = covered && hits_.covers(name_hash(e));
        const prefetch_plan plan = plan_prefetch(prefetch_state{covered, !hits_.empty(), !modules_.empty(), module_index_.has_value(),
                                                                static_cast<bool>(listener_), static_cast<bool>(loader_),
                                                                modules_opened() != 0, vmlinux_index_ready()});
        if (plan.pass) {
            if (plan.pass_modules) BTFKIT_TRY(check_module_count());
            name_pass p(essentials, plan.pass_modules ? module_count() : 0u, loader_, failed_flags());
            p.base_parsed(*vmlinux_);
            p.start();
            BTFKIT_TRY(install(p));
        }
        return plan.open_listed ? open_listed(essentials) : status{};
    }
    // Takes a name pass started over this set's modules (same count and loader) before any lookup
    // (file_targets does this for target_options::prefetch): finishes it here and keeps what it found,
    // as prefetch of its names would. vmlinux must have been given to it (base_parsed).
    status adopt(name_pass& p) {
        if (p.base() != vmlinux_) return error(errc::unsupported, "name pass over another vmlinux");
        if ((p.module_count() != 0 && p.module_count() != modules_.size()) || module_index_ || !hits_.empty() || modules_opened() != 0) {
            return error(errc::unsupported, "a name pass is for a target set no lookup has used, over the same modules");
        }
        return install(p);
    }
    // Borrows indexes saved earlier (index_cache::load): vmlinux's name index, the module index if
    // saved, and the failures recorded with it ((module index, why), in module order).
    void use_indexes(name_index vmlinux, std::optional<module_index> modules, std::span<const std::pair<std::uint32_t, std::string>> failures) {
        vmlinux_index_ = std::move(vmlinux);
        if (!modules) return;
        module_index_ = std::move(modules);
        for (const auto& [i, why] : failures) fail(*modules_[i], why, false);
    }

    // ---- state ----
    [[nodiscard]] std::uint32_t module_count() const noexcept { return static_cast<std::uint32_t>(modules_.size()); }
    // Empty until built (see the constructor).
    [[nodiscard]] const name_index& vmlinux_index() const noexcept { return vmlinux_index_; }
    // Built, or borrowed from a cache (a built or borrowed index has at least 16 slots).
    [[nodiscard]] bool vmlinux_index_ready() const noexcept { return !vmlinux_index_.slots().empty(); }
    [[nodiscard]] const module_index* modules_index() const noexcept { return module_index_ ? &*module_index_ : nullptr; }
    [[nodiscard]] bool module_index_ready() const noexcept { return module_index_.has_value(); }
    [[nodiscard]] std::size_t index_memory_bytes() const noexcept {
        return vmlinux_index_.memory_bytes() + (module_index_ ? module_index_->memory_bytes() : 0) + hits_.memory_bytes();
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

    // Calls f(id) for vmlinux's indexed types of this essential name, in id order.
    template <class F>
    void vmlinux_entries(std::string_view essential, F&& f) {
        if (!vmlinux_index_ready()) {
            const std::uint32_t h = name_hash(essential);
            if (hits_.has_vmlinux && hits_.covers(h)) {
                name_hits::each(hits_.vmlinux, h, [&](std::uint32_t id) {
                    if (essential_name((*vmlinux_)[id].name()) == essential) f(id);
                });
                return;
            }
            build_vmlinux_index();
        }
        vmlinux_index_.for_each(*vmlinux_, essential, f);
    }
    // Calls f(target, own index) for the module entries whose hash is the name's (hash collisions
    // included: the caller compares names), in module order then id order.
    template <class F>
    status module_entries(std::string_view essential, F&& f) {
        if (modules_.empty()) return {};
        const std::uint32_t h = name_hash(essential);
        auto unpack = [&](std::uint32_t e) {
            const std::uint32_t t = module_entry::module_of(e) + 1;
            if (t <= modules_.size()) f(t, module_entry::local_of(e));
        };
        if (!module_index_ && hits_.has_modules && hits_.covers(h)) {
            name_hits::each(hits_.modules, h, unpack);
            return {};
        }
        BTFKIT_TRY(build_module_index());
        module_index_->for_each(h, unpack);
        return {};
    }

    // The rest of pass p, and what it found kept: its hits, its opened modules, its failures.
    status install(name_pass& p) {
        if (p.module_count() != 0) BTFKIT_TRY(check_module_count());
        auto out = p.finish(!vmlinux_index_ready());
        fail_all(out.unread);  // as the module index reports them, then as opening does
        fail_all(out.unparsed);
        for (auto& [j, b] : out.opened) modules_[j]->parsed.emplace(std::move(b));
        for (auto& a : out.arenas) arena_.adopt(std::move(a));
        hits_ = std::move(out.hits);
        return {};
    }
    // Opens the modules the module index lists for these names: on two threads from
    // thread_min_modules of them, each thread with its own arena (adopted here).
    status open_listed(std::span<const std::string_view> essentials) {
        BTFKIT_TRY(build_module_index());
        std::vector<std::uint32_t> want;
        for (const std::string_view e : essentials) {
            BTFKIT_TRY(module_entries(e, [&](std::uint32_t t, std::uint32_t) {
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
    name_index vmlinux_index_{};
    named_hashes vmlinux_hashes_{};
    // Opened modules' bytes and id tables (and the loader's buffer): it outlives everything that
    // points into it, since members go in reverse order.
    chunk_arena arena_{};
    std::vector<std::unique_ptr<module>> modules_{};
    loader loader_{};
    upper_resolver resolver_{};
    index_listener listener_{};
    std::vector<std::string> warnings_{};
    byte_buffer scratch_{default_init_allocator<char>(&arena_)};  // what the loader reads
    std::optional<module_index> module_index_{};
    name_hits hits_{};
};

}  // namespace btfkit
