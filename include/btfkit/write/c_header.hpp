// A C header (vmlinux.h) from BTF, byte-identical to `bpftool btf dump file F format c`: libbpf's
// btf_dump ordering (definitions before embedding uses, forward declarations for pointer uses),
// bpftool's preamble and epilogue, and for bpftool 7.5 its sorted type order and kfunc externs.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "c_decl.hpp"
#include "c_prerender.hpp"
#include "c_sort.hpp"

namespace btfkit {

struct c_header_options {
    bpftool_compat compat = bpftool_compat::v7_5;
    // Types to emit with what they need (bpftool's root types); empty: every type. Emitted in this order.
    std::span<const std::uint32_t> roots{};
};

namespace detail {

template <byte_sink S>
class c_header_writer : public c_decl_writer<S> {
    using base = c_decl_writer<S>;
    using base::b_; using base::state_; using base::failed_; using base::put; using base::fail;
    using base::order_mask; using base::order_ing; using base::order_done; using base::emit_mask;
    using base::emit_ing; using base::emit_done; using base::fwd_emitted; using base::referenced;

public:
    using base::base;
    using base::reserve_names;  // before dumping every type

    // Definitions rendered ahead that the dump copies instead of writing them (null: none yet).
    void use_prerendered(const std::atomic<c_prerender*>* p) noexcept { pre_ = p; }

    // btf_dump__dump_type: orders `id` and what it needs, then emits the queue.
    void dump_type(std::uint32_t id) {
        if (failed_) return;
        queue_.clear();
        if (order_type(id, false, 0) < 0) return;
        for (const std::uint32_t q : queue_) {
            emit_type(q, 0, 0);
            if (failed_) return;
        }
    }

    // bpftool 7.5's `extern` lines for the functions tagged bpf_kfunc, in the order of their tags
    // (Debian's 7.5 is built from Linux 6.12: before bpftool sorted them and learnt __bpf_fastcall).
    void emit_kfuncs() {
        put("\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n"sv);
        for (std::uint32_t id = 1; id < this->n_ && !failed_; ++id) {
            if (b_.kind_of(id) != kind::decl_tag) continue;
            const type tag = b_[id];
            if (tag.decl_tag_component() != -1 || b_.string(tag.name_off()) != "bpf_kfunc") continue;
            if (b_.kind_of(tag.ref()) != kind::func) continue;
            const type f = b_[tag.ref()];
            put("extern "sv);
            this->emit_type_decl(f.ref(), b_.string(f.name_off()), 0);
            put(" __weak __ksym;\n"sv);
        }
        put("#endif\n\n"sv);
    }

private:
    void queue(std::uint32_t id) { queue_.push_back(id); }

    // btf_dump_order_type: 1 strong link, 0 weak (a forward declaration will do), -1 error.
    int order_type(std::uint32_t id, bool through_ptr, unsigned depth) {
        if (depth > c_max_nesting) {
            fail(error(errc::too_deep, "type dependencies nest too deep").at_type(id).limit(c_max_nesting));
            return -1;
        }
        std::uint8_t& st = state_[id];
        if ((st & order_mask) == order_done) return 1;
        const type t = b_[id];
        if ((st & order_mask) == order_ing) {
            if (t.is_composite() && through_ptr && t.name_off() != 0) return 0;
            fail(error(errc::type_loop, "unsatisfiable type cycle").at_type(id));
            return -1;
        }
        auto set_order = [this, id](std::uint8_t o) { state_[id] = static_cast<std::uint8_t>((state_[id] & ~order_mask) | o); };
        switch (t.kind()) {
        case kind::int_: case kind::float_:
            set_order(order_done);
            return 0;
        case kind::ptr: {
            const int err = order_type(t.ref(), true, depth + 1);
            set_order(order_done);
            return err;
        }
        case kind::array:
            return order_type(t.array().type, false, depth + 1);
        case kind::struct_: case kind::union_: {
            if (through_ptr && t.name_off() != 0) return 0;
            set_order(order_ing);
            for (const member m : t.members()) {
                if (order_type(m.type, false, depth + 1) < 0) return -1;
            }
            if (t.name_off() != 0) queue(id);
            set_order(order_done);
            return 1;
        }
        case kind::enum_: case kind::enum64: case kind::fwd:
            if (t.name_off() != 0 || (st & referenced) == 0) queue(id);
            set_order(order_done);
            return 1;
        case kind::typedef_: {
            const int is_strong = order_type(t.ref(), through_ptr, depth + 1);
            if (is_strong < 0) return is_strong;
            if (through_ptr && is_strong == 0) return 0;
            queue(id);
            set_order(order_done);
            return 1;
        }
        case kind::volatile_: case kind::const_: case kind::restrict_: case kind::type_tag:
            return order_type(t.ref(), through_ptr, depth + 1);
        case kind::func_proto: {
            int err = order_type(t.ref(), through_ptr, depth + 1);
            if (err < 0) return err;
            bool is_strong = err > 0;
            for (const param p : t.params()) {
                err = order_type(p.type, through_ptr, depth + 1);
                if (err < 0) return err;
                if (err > 0) is_strong = true;
            }
            return is_strong ? 1 : 0;
        }
        case kind::func: case kind::var: case kind::datasec: case kind::decl_tag:
            set_order(order_done);
            return 0;
        default:
            fail(error(errc::bad_kind, "type of unknown kind in C output").at_type(id));
            return -1;
        }
    }

    void set_emit(std::uint32_t id, std::uint8_t e) { state_[id] = static_cast<std::uint8_t>((state_[id] & ~emit_mask) | e); }

    // btf_dump_emit_type: definitions, with forward declarations where a type refers back to one
    // still being emitted. cont_id: the struct/union being defined (0 at top level).
    void emit_type(std::uint32_t id, std::uint32_t cont_id, unsigned depth) {
        if (depth > c_max_nesting) {
            fail(error(errc::too_deep, "type definitions nest too deep").at_type(id).limit(c_max_nesting));
            return;
        }
        if (failed_) return;
        const std::uint8_t st = state_[id];
        if ((st & emit_mask) == emit_done) return;
        const type t = b_[id];
        const bool top_level = cont_id == 0;
        if ((st & emit_mask) == emit_ing) {
            if ((st & fwd_emitted) != 0) return;
            switch (t.kind()) {
            case kind::struct_: case kind::union_:
                if (id == cont_id) return;
                if (t.name_off() == 0) return;  // anonymous struct/union loop: libbpf warns
                this->emit_struct_fwd(id, t);
                put(";\n\n"sv);
                state_[id] |= fwd_emitted;
                break;
            case kind::typedef_:
                if (!this->blacklisted(t)) {
                    this->emit_typedef_def(id, t, 0);
                    put(";\n\n"sv);
                }
                state_[id] |= fwd_emitted;
                break;
            default:
                break;
            }
            return;
        }
        switch (t.kind()) {
        case kind::int_:
            this->emit_missing_aliases(id);
            set_emit(id, emit_done);
            break;
        case kind::enum_: case kind::enum64:
            if (top_level) {
                if (!put_rendered_ahead(id)) this->emit_enum_def(id, t, 0);
                put(";\n\n"sv);
            }
            set_emit(id, emit_done);
            break;
        case kind::ptr: case kind::volatile_: case kind::const_: case kind::restrict_: case kind::type_tag:
            emit_type(t.ref(), cont_id, depth + 1);
            break;
        case kind::array:
            emit_type(t.array().type, cont_id, depth + 1);
            break;
        case kind::fwd:
            this->emit_fwd_def(id, t);
            put(";\n\n"sv);
            set_emit(id, emit_done);
            break;
        case kind::typedef_:
            set_emit(id, emit_ing);
            emit_type(t.ref(), id, depth + 1);
            if ((state_[id] & fwd_emitted) == 0 && !this->blacklisted(t)) {
                this->emit_typedef_def(id, t, 0);
                put(";\n\n"sv);
            }
            set_emit(id, emit_done);
            break;
        case kind::struct_: case kind::union_:
            set_emit(id, emit_ing);
            if (top_level || t.name_off() == 0) {
                const std::uint32_t new_cont = t.name_off() == 0 ? cont_id : id;
                for (const member m : t.members()) emit_type(m.type, new_cont, depth + 1);
            } else if ((state_[id] & fwd_emitted) == 0 && id != cont_id) {
                this->emit_struct_fwd(id, t);
                put(";\n\n"sv);
                state_[id] |= fwd_emitted;
            }
            if (top_level) {
                if (!put_rendered_ahead(id)) this->emit_struct_def(id, t, 0);
                put(";\n\n"sv);
                set_emit(id, emit_done);
            } else {
                set_emit(id, 0);
            }
            break;
        case kind::func_proto:
            emit_type(t.ref(), cont_id, depth + 1);
            for (const param p : t.params()) emit_type(p.type, cont_id, depth + 1);
            break;
        default:
            break;
        }
    }

    // Copies the definition of `id` if it was rendered ahead; false if this writer is to write it.
    bool put_rendered_ahead(std::uint32_t id) {
        c_prerender* pre = pre_ != nullptr ? pre_->load(std::memory_order_acquire) : nullptr;
        const c_prerendered* d = pre != nullptr ? pre->take(id) : nullptr;
        if (d == nullptr) return false;
        this->put_prerendered(*d);
        c_prerender::copied(*d);
        return true;
    }

    std::vector<std::uint32_t> queue_;
    const std::atomic<c_prerender*>* pre_ = nullptr;
};

// bpftool 7.5's body: the types in its sorted order, then the kfunc externs. The sort runs on one
// thread while the other dumps what is already in order (run_both's second callable dumps; without a
// second thread, everything is sorted first). Once sorted, the first thread renders the named structs'
// definitions just ahead of the dump, which copies them in (c_render_ahead).
template <byte_sink S, class RunBoth>
[[nodiscard]] status write_sorted_c_types(const btf& b, chunk_writer<S>& w, RunBoth&& run_both) {
    c_sort_order order(b);
    constexpr std::uint64_t finished = std::uint64_t{1} << 63;
    std::atomic<std::uint64_t> ready{0};    // how many of order's ids are in order; `finished` once the sort ends
    std::atomic<bool> abandoned{false};     // the sort stopped (an allocation failed): dump no further
    c_render_ahead ahead(b, bpftool_compat::v7_5);
    std::atomic<bool> dump_started{false};  // else the callables run one after the other: nothing to render ahead
    const bool threads = b.type_count() >= c_sort_split_min;
    auto sort = [&] {
        struct publish_on_exit {  // wakes the dumping side whatever happens to the sort
            std::atomic<std::uint64_t>& ready;
            std::atomic<bool>& abandoned;
            bool done = false;
            void finish(bool completed) {
                if (done) return;
                done = true;
                if (!completed) abandoned.store(true);
                ready.store(ready.load() | finished, std::memory_order_release);
                ready.notify_all();
            }
            ~publish_on_exit() { finish(false); }
        } guard{ready, abandoned};
        order.sort([&](std::size_t n) {
            ready.store(n, std::memory_order_release);
            ready.notify_all();
        });
        guard.finish(true);
        if (!dump_started.load()) return;
        ahead.render(order.rank_start(c_sort_order::named_composite_rank), order.rank_end(c_sort_order::named_composite_rank),
                     [&](std::size_t i) { return order.id_at(i); });
    };
    status result;
    auto dump = [&] {
        dump_started.store(true);
        const c_render_ahead::writer_scope scope{ahead};
        c_header_writer<S> d(b, w, bpftool_compat::v7_5);
        d.reserve_names();
        d.use_prerendered(ahead.published());
        std::uint64_t r = ready.load(std::memory_order_acquire);
        for (std::size_t i = 0;; ++i) {
            while ((r & ~finished) <= i) {
                if ((r & finished) != 0) {
                    if (abandoned.load()) return;
                    d.emit_kfuncs();
                    if (d.failed()) result = d.failure();
                    return;
                }
                ready.wait(r, std::memory_order_acquire);
                r = ready.load(std::memory_order_acquire);
            }
            ahead.writer_at(i);
            if (i == 0 && order.skip_first()) continue;
            d.dump_type(order.id_at(i));
            if (d.failed()) {
                result = d.failure();
                return;
            }
        }
    };
    if (threads) {
        run_both(sort, dump);
    } else {
        sort();
        dump();
    }
    return result;
}

// bpftool 7.1's body: every type in id order. The dump runs on the calling thread (run_both's first
// callable) while the second renders the named structs', unions' and enums' definitions just ahead of
// it, and the dump copies them in (c_render_ahead; one after the other, the dump has passed them all).
template <byte_sink S, class RunBoth>
[[nodiscard]] status write_c_types_by_id(const btf& b, chunk_writer<S>& w, bpftool_compat compat, RunBoth&& run_both) {
    const std::uint32_t n = b.type_count();
    c_render_ahead ahead(b, compat);
    status result;
    auto dump = [&] {
        const c_render_ahead::writer_scope scope{ahead};
        c_header_writer<S> d(b, w, compat);
        d.reserve_names();
        d.use_prerendered(ahead.published());
        for (std::uint32_t id = 1; id < n; ++id) {
            ahead.writer_at(id);
            d.dump_type(id);
            if (d.failed()) {
                result = d.failure();
                return;
            }
        }
    };
    auto render_ahead = [&] { ahead.render(1, n, [](std::size_t id) { return static_cast<std::uint32_t>(id); }); };
    if (n < c_sort_split_min) dump();
    else run_both(dump, render_ahead);
    return result;
}

}  // namespace detail

// Appends the C header bpftool would print for `b` (with its base, if split: bpftool dumps both) to `out`.
// Fails on BTF that cannot be written as C (an unsatisfiable type cycle, loops of bad BTF); what
// was written until then stays in `out`, as bpftool leaves it on stdout.
// `run_both(first, second)` runs both callables, the second on another thread if it can (for bpftool
// 7.5's order: the sort beside the dump, which writes to `out` from the second callable; for 7.1's,
// the dump in the first, definitions rendered ahead in the second); the default runs them one after
// the other.
template <byte_sink S, class RunBoth = detail::c_run_inline>
[[nodiscard]] status write_c_header(const btf& b, S& out, const c_header_options& o = {}, RunBoth&& run_both = {}) {
    using namespace std::string_view_literals;
    detail::chunk_writer<S> w(out);
    const bool v75 = o.compat == bpftool_compat::v7_5;
    w.put("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
          "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
          "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
          "#endif\n\n"sv);
    if (v75) {
        w.put("#ifndef __ksym\n#define __ksym __attribute__((section(\".ksyms\")))\n#endif\n\n"
              "#ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n\n"sv);
    }
    if (!o.roots.empty()) {
        detail::c_header_writer<S> d(b, w, o.compat);
        for (const std::uint32_t id : o.roots) {
            if (!b.valid_id(id)) return error(errc::bad_type_id, "root type id past the end").at_type(id).got(id).limit(b.type_count());
            d.dump_type(id);
            if (d.failed()) return d.failure();
        }
    } else if (v75) {
        BTFKIT_TRY(detail::write_sorted_c_types(b, w, run_both));
    } else {
        BTFKIT_TRY(detail::write_c_types_by_id(b, w, o.compat, run_both));
    }
    w.put("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n"sv);
    return {};
}

// The ids of the types named `names` that a C header defines (struct, union, enum, typedef, forward
// declaration), in the order `compat` dumps all types; an error names a name no such type has.
[[nodiscard]] inline result<std::vector<std::uint32_t>> c_header_roots(const btf& b, std::span<const std::string_view> names,
                                                                      bpftool_compat compat = bpftool_compat::v7_5) {
    auto defines = [](kind k) {
        return k == kind::struct_ || k == kind::union_ || k == kind::enum_ || k == kind::enum64 || k == kind::typedef_ ||
               k == kind::fwd;
    };
    std::vector<bool> found(names.size(), false);
    std::vector<std::uint32_t> ids;
    auto consider = [&](std::uint32_t id) {
        if (!defines(b.kind_of(id))) return;
        const std::string_view name = b.string(b.name_off_of(id));
        if (name.empty()) return;
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (names[i] == name) {
                found[i] = true;
                ids.push_back(id);
                return;
            }
        }
    };
    if (compat == bpftool_compat::v7_5) {
        for (const std::uint32_t id : detail::c_sorted_ids(b).ids) consider(id);
    } else {
        for (std::uint32_t id = 1; id < b.type_count(); ++id) consider(id);
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!found[i]) return error(errc::not_found, "no struct, union, enum or typedef has this name").about(names[i]);
    }
    return ids;
}

}  // namespace btfkit
