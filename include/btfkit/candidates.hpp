// Candidate search: an essential-name index per BTF, an indexed single target, and a target set of
// vmlinux plus module BTFs that are read only when a lookup needs them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "btf.hpp"
#include "error.hpp"
#include "relo_rules.hpp"
#include "relocate.hpp"

namespace btfkit {

// FNV-1a, 32 bits: cheap, and good enough to spread names over buckets (names are compared after).
[[nodiscard]] constexpr std::uint32_t name_hash(std::string_view s) noexcept {
    std::uint32_t h = 2166136261u;
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return h;
}

// Ids of a BTF's own named types bucketed by the hash of their essential name (a CSR table: one
// pass to count, one to place). Lookups compare names, so collisions cost a compare, never a wrong answer.
class name_index {
public:
    constexpr name_index() noexcept = default;

    [[nodiscard]] static constexpr name_index build(const btf& b) {
        name_index x;
        const std::uint32_t first = b.first_id(), count = b.own_count();
        std::uint32_t buckets = 1;
        while (buckets < count / 2 + 1) buckets <<= 1;
        x.mask_ = buckets - 1;
        std::vector<std::uint32_t> pairs;  // hash, id (named types only)
        pairs.reserve(2 * std::size_t{count});
        for (std::uint32_t id = first; id < first + count; ++id) {
            const std::string_view n = b[id].name();
            if (n.empty()) continue;
            pairs.push_back(name_hash(essential_name(n)));
            pairs.push_back(id);
        }
        x.start_.reserve(buckets + 1);
        for (std::uint32_t i = 0; i <= buckets; ++i) x.start_.push_back(0);
        for (std::size_t k = 0; k < pairs.size(); k += 2) ++x.start_[(pairs[k] & x.mask_) + 1];
        for (std::uint32_t i = 0; i < buckets; ++i) x.start_[i + 1] += x.start_[i];
        std::vector<std::uint32_t> fill;
        fill.reserve(buckets);
        for (std::uint32_t i = 0; i < buckets; ++i) fill.push_back(x.start_[i]);
        x.ids_.reserve(pairs.size() / 2);
        for (std::size_t k = 0; k < pairs.size(); k += 2) x.ids_.push_back(0);
        for (std::size_t k = 0; k < pairs.size(); k += 2) x.ids_[fill[pairs[k] & x.mask_]++] = pairs[k + 1];
        return x;
    }

    // Calls f(id) for every own type whose essential name is `essential`, in id order.
    template <class F>
    constexpr void for_each(const btf& b, std::string_view essential, F&& f) const {
        if (start_.empty()) return;
        const std::uint32_t bucket = name_hash(essential) & mask_;
        for (std::uint32_t i = start_[bucket]; i < start_[bucket + 1]; ++i) {
            const std::uint32_t id = ids_[i];
            if (essential_name(b[id].name()) == essential) f(id);
        }
    }

    [[nodiscard]] constexpr std::size_t memory_bytes() const noexcept {
        return (start_.capacity() + ids_.capacity()) * sizeof(std::uint32_t);
    }

private:
    std::uint32_t mask_ = 0;
    std::vector<std::uint32_t> start_{};
    std::vector<std::uint32_t> ids_{};  // within a bucket, in id order (placed in id order)
};

namespace detail {

// Candidates of one indexed BTF, in id order, with the FWD preference of scan_candidates.
constexpr void indexed_candidates(const btf& b, const name_index& ix, std::uint32_t target, const type& local_t,
                                  std::string_view essential, bool fwd_ext, std::vector<candidate>& out) {
    const kind lk = local_t.kind();
    const std::size_t before = out.size();
    if (fwd_ext && lk == kind::fwd) {
        ix.for_each(b, essential, [&](std::uint32_t id) {
            if (fwd_resolves_to(lk, local_t.kflag(), b[id].kind())) out.push_back(candidate{&b, id, target});
        });
        if (out.size() != before) return;
    }
    ix.for_each(b, essential, [&](std::uint32_t id) {
        if (kinds_core_compat(b[id].kind(), lk)) out.push_back(candidate{&b, id, target});
    });
}

}  // namespace detail

// One BTF with its name index: same answers as single_target, without scanning.
class indexed_target {
public:
    constexpr explicit indexed_target(const btf& b) : btf_(&b), index_(name_index::build(b)) {}
    [[nodiscard]] constexpr std::uint32_t target_count() const noexcept { return 1; }
    [[nodiscard]] constexpr std::string_view target_name(std::uint32_t) const noexcept { return "vmlinux"; }
    [[nodiscard]] constexpr const btf& target_btf(std::uint32_t) const noexcept { return *btf_; }
    constexpr status collect(const type& local_t, std::string_view essential, const relocate_options& o,
                             std::vector<candidate>& out) const {
        detail::indexed_candidates(*btf_, index_, 0, local_t, essential, o.fwd_extension, out);
        return {};
    }
    [[nodiscard]] constexpr result<std::uint32_t> upper_bits(std::uint32_t, fd_encoding) const noexcept { return std::uint32_t{0}; }
    [[nodiscard]] constexpr const name_index& index() const noexcept { return index_; }

private:
    const btf* btf_;
    name_index index_;
};

// vmlinux plus module BTFs. Modules are registered by name and a loader; nothing is read until a
// lookup needs modules. Then every module is read once (two threads) to build one index of all
// module type names, and only modules that hold a candidate are kept in memory, parsed.
// A module that fails to read or parse is skipped with a warning; the others keep working.
class target_set {
public:
    // Reads a module's raw BTF bytes into `buf` (resized to fit); an error skips the module.
    using loader = std::function<status(std::uint32_t module, byte_buffer& buf)>;
    // Gives the upper half for TYPE_ID_TARGET of a module (fd or id); an error or 0 means "none".
    using upper_resolver = std::function<result<std::uint32_t>(std::uint32_t module, fd_encoding)>;

    explicit target_set(const btf& vmlinux) : vmlinux_(&vmlinux), vmlinux_index_(name_index::build(vmlinux)) {}
    target_set(const target_set&) = delete;
    target_set& operator=(const target_set&) = delete;

    // Registers a module; returns its target index (1-based: 0 is vmlinux).
    std::uint32_t add_module(std::string name) {
        modules_.push_back(std::make_unique<module>());
        modules_.back()->name = std::move(name);
        index_built_ = false;
        return static_cast<std::uint32_t>(modules_.size());
    }
    void set_loader(loader l) { loader_ = std::move(l); }
    void set_upper_resolver(upper_resolver r) { resolver_ = std::move(r); }
    // Caller-provided module BTF fd (or id), used for TYPE_ID_TARGET's upper half.
    void set_module_fd(std::uint32_t target, int fd) { modules_.at(target - 1)->fd = fd; }
    void set_module_btf_id(std::uint32_t target, std::uint32_t id) { modules_.at(target - 1)->btf_id = id; }

    [[nodiscard]] std::uint32_t target_count() const noexcept { return static_cast<std::uint32_t>(modules_.size()) + 1; }
    [[nodiscard]] std::string_view target_name(std::uint32_t t) const noexcept {
        return t == 0 ? std::string_view{"vmlinux"} : std::string_view{modules_[t - 1]->name};
    }
    [[nodiscard]] const btf& vmlinux() const noexcept { return *vmlinux_; }
    [[nodiscard]] const name_index& vmlinux_index() const noexcept { return vmlinux_index_; }
    // The parsed module, if it has been opened (because a lookup found a candidate in it).
    [[nodiscard]] const btf* module_btf(std::uint32_t t) const noexcept {
        return t == 0 ? vmlinux_ : (modules_[t - 1]->parsed ? &*modules_[t - 1]->parsed : nullptr);
    }
    [[nodiscard]] const std::vector<std::string>& warnings() const noexcept { return warnings_; }
    [[nodiscard]] std::uint32_t modules_opened() const noexcept {
        std::uint32_t n = 0;
        for (const auto& m : modules_) n += m->parsed ? 1u : 0u;
        return n;
    }

    // Candidates for the relocation engine: vmlinux first; modules when vmlinux has none (or always).
    status collect(const type& local_t, std::string_view essential, const relocate_options& o, std::vector<candidate>& out) const {
        const std::size_t before = out.size();
        detail::indexed_candidates(*vmlinux_, vmlinux_index_, 0, local_t, essential, o.fwd_extension, out);
        if (out.size() != before && !o.search_all_targets) return {};
        return collect_modules(local_t, essential, o.fwd_extension, out);
    }

    // Every type across vmlinux and all modules whose essential name is `essential` (any kind).
    status find(std::string_view essential, std::vector<candidate>& out) const {
        vmlinux_index_.for_each(*vmlinux_, essential, [&](std::uint32_t id) { out.push_back(candidate{vmlinux_, id, 0}); });
        return for_each_module_hit(essential, [&](std::uint32_t t, const btf& b, std::uint32_t id) {
            out.push_back(candidate{&b, id, t});
        });
    }

    [[nodiscard]] result<std::uint32_t> upper_bits(std::uint32_t t, fd_encoding enc) const {
        if (t == 0 || enc == fd_encoding::none) return std::uint32_t{0};
        const module& m = *modules_[t - 1];
        if (enc == fd_encoding::btf_fd && m.fd >= 0) return static_cast<std::uint32_t>(m.fd);
        if (enc == fd_encoding::btf_id && m.btf_id != 0) return m.btf_id;
        if (resolver_) {
            auto r = resolver_(t, enc);
            if (r && *r != 0) {
                if (enc == fd_encoding::btf_fd) m.fd = static_cast<int>(*r);
                else m.btf_id = *r;
            }
            return r;
        }
        return error(errc::not_found, "no kernel BTF fd or id for this module").about(m.name);
    }

    // Builds the module name index now (otherwise the first module lookup does).
    status build_module_index() const { return ensure_index(); }

    [[nodiscard]] std::size_t index_memory_bytes() const noexcept {
        return vmlinux_index_.memory_bytes() + (module_start_.capacity() + module_entries_.capacity() * 2) * sizeof(std::uint32_t);
    }

private:
    struct module {
        std::string name;
        byte_buffer data;                 // kept only once the module holds a candidate
        std::optional<btf> parsed;
        bool failed = false;
        mutable int fd = -1;
        mutable std::uint32_t btf_id = 0;
    };
    // (hash, target << 18 | own index) in one u64 would be denser; two u32 arrays keep it simple.
    static constexpr std::uint32_t local_bits = 18;

    status collect_modules(const type& local_t, std::string_view essential, bool fwd_ext, std::vector<candidate>& out) const {
        const kind lk = local_t.kind();
        const std::size_t before = out.size();
        if (fwd_ext && lk == kind::fwd) {
            BTFKIT_TRY(for_each_module_hit(essential, [&](std::uint32_t t, const btf& b, std::uint32_t id) {
                if (fwd_resolves_to(lk, local_t.kflag(), b[id].kind())) out.push_back(candidate{&b, id, t});
            }));
            if (out.size() != before) return {};
        }
        return for_each_module_hit(essential, [&](std::uint32_t t, const btf& b, std::uint32_t id) {
            if (kinds_core_compat(b[id].kind(), lk)) out.push_back(candidate{&b, id, t});
        });
    }

    // Calls f(target, module btf, id) for module types with this essential name, in module order then id order.
    template <class F>
    status for_each_module_hit(std::string_view essential, F&& f) const {
        if (modules_.empty()) return {};
        BTFKIT_TRY(ensure_index());
        const std::uint32_t h = name_hash(essential);
        const std::uint32_t bucket = h & module_mask_;
        for (std::uint32_t i = module_start_[bucket]; i < module_start_[bucket + 1]; ++i) {
            if (module_entries_[2 * i] != h) continue;
            const std::uint32_t packed = module_entries_[2 * i + 1];
            const std::uint32_t t = (packed >> local_bits) + 1;
            const btf* b = open_module(t);
            if (b == nullptr) continue;
            const std::uint32_t id = b->first_id() + (packed & ((1u << local_bits) - 1));
            if (essential_name((*b)[id].name()) == essential) f(t, *b, id);
        }
        return {};
    }

    const btf* open_module(std::uint32_t t) const {
        module& m = *modules_[t - 1];
        if (m.parsed) return &*m.parsed;
        if (m.failed || !loader_) return nullptr;
        if (status st = loader_(t, m.data); !st) {
            fail(m, st.error());
            return nullptr;
        }
        auto b = btf::parse(byte_span(m.data.data(), m.data.size()), vmlinux_);
        if (!b) {
            fail(m, b.error());
            return nullptr;
        }
        m.parsed.emplace(std::move(*b));
        return &*m.parsed;
    }

    void fail(module& m, const error& e) const {
        m.failed = true;
        m.data = {};
        warnings_.push_back("module " + m.name + " skipped: " + e.message());
    }

    status ensure_index() const {
        if (index_built_) return {};
        const auto n = static_cast<std::uint32_t>(modules_.size());
        if (n >= (1u << (32 - local_bits))) return error(errc::unsupported, "too many modules for the index").got(n);
        // Each worker reads its share of modules into one reused buffer and emits (hash, packed) pairs.
        struct worker_out {
            std::vector<std::uint32_t> pairs;
            std::vector<std::pair<std::uint32_t, error>> failures;
        };
        const unsigned threads = n >= 64 ? 2u : 1u;
        std::vector<worker_out> outs(threads);
        auto work = [&](unsigned w) {
            byte_buffer buf;
            worker_out& o = outs[w];
            for (std::uint32_t i = w; i < n; i += threads) {
                const module& m = *modules_[i];
                if (m.failed) continue;
                if (status st = loader_ ? loader_(i + 1, buf) : status(error(errc::not_found, "no module loader")); !st) {
                    o.failures.emplace_back(i, st.error());
                    continue;
                }
                auto b = btf::parse(byte_span(buf.data(), buf.size()), vmlinux_);
                if (!b) {
                    o.failures.emplace_back(i, b.error());
                    continue;
                }
                if (b->own_count() >= (1u << local_bits)) {
                    o.failures.emplace_back(i, error(errc::unsupported, "module has too many types for the index").got(b->own_count()));
                    continue;
                }
                for (std::uint32_t k = 0; k < b->own_count(); ++k) {
                    const std::string_view name = (*b)[b->first_id() + k].name();
                    if (name.empty()) continue;
                    o.pairs.push_back(name_hash(essential_name(name)));
                    o.pairs.push_back((i << local_bits) | k);
                }
            }
        };
        if (threads == 2) {
            std::thread other(work, 1u);
            work(0);
            other.join();
        } else {
            work(0);
        }
        std::size_t total = 0;
        for (auto& o : outs) {
            total += o.pairs.size() / 2;
            for (auto& [i, e] : o.failures) fail(*modules_[i], e);
        }
        std::uint32_t buckets = 1;
        while (buckets < total / 2 + 1) buckets <<= 1;
        module_mask_ = buckets - 1;
        module_start_.assign(buckets + 1, 0);
        for (auto& o : outs)
            for (std::size_t k = 0; k < o.pairs.size(); k += 2) ++module_start_[(o.pairs[k] & module_mask_) + 1];
        for (std::uint32_t i = 0; i < buckets; ++i) module_start_[i + 1] += module_start_[i];
        std::vector<std::uint32_t> fill(module_start_.begin(), module_start_.end() - 1);
        module_entries_.assign(2 * total, 0);
        // Place in module order (worker outputs interleave modules; order within a bucket follows
        // module index so that hits come out in module order).
        std::vector<std::size_t> pos(threads, 0);
        for (std::uint32_t i = 0; i < n; ++i) {
            worker_out& o = outs[i % threads];
            std::size_t& p = pos[i % threads];
            while (p < o.pairs.size() && (o.pairs[p + 1] >> local_bits) == i) {
                const std::uint32_t slot = fill[o.pairs[p] & module_mask_]++;
                module_entries_[2 * slot] = o.pairs[p];
                module_entries_[2 * slot + 1] = o.pairs[p + 1];
                p += 2;
            }
        }
        index_built_ = true;
        return {};
    }

    const btf* vmlinux_;
    name_index vmlinux_index_;
    std::vector<std::unique_ptr<module>> modules_{};
    loader loader_{};
    upper_resolver resolver_{};
    mutable std::vector<std::string> warnings_{};
    mutable bool index_built_ = false;
    mutable std::uint32_t module_mask_ = 0;
    mutable std::vector<std::uint32_t> module_start_{};
    mutable std::vector<std::uint32_t> module_entries_{};  // pairs: hash, (module << local_bits) | own index
};

}  // namespace btfkit
