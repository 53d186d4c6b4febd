// Struct, union and enum definitions of a C header rendered ahead, on a thread other than the one
// writing the header: the text is a function of the BTF alone except for the names, which are made
// unique (___N) in the order the header uses them, so they are left out (c_name_ref) and resolved by
// the writer when it copies the definition in (c_decl_writer::put_prerendered).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../format/btf.hpp"
#include "../memory.hpp"
#include "c_decl.hpp"

namespace btfkit::detail {

class c_prerender {
public:
    c_prerender(const btf& b, bpftool_compat compat)
        : b_(b), done_(b.type_count()), blocks_(b.type_count()), writer_(b, w_, compat, c_names::unique) {}
    c_prerender(const c_prerender&) = delete;
    c_prerender& operator=(const c_prerender&) = delete;

    // Whether `id` is a definition this renders: a named struct, union or enum (a header defines
    // those at top level only).
    [[nodiscard]] bool renders(std::uint32_t id) const noexcept {
        const kind k = b_.kind_of(id);
        return (k == kind::struct_ || k == kind::union_ || k == kind::enum_ || k == kind::enum64) && b_.name_off_of(id) != 0;
    }
    // Renders the definition of `id` (renders(id)) and publishes it, unless the writer took `id`
    // first; false when it cannot be written (the BTF's layout or nesting fails: the header's writer
    // then fails there itself), and from then on. The renderer's thread only.
    bool render(std::uint32_t id) {
        if (writer_.failed()) return false;
        const c_prerendered* free = nullptr;
        if (!done_[id].compare_exchange_strong(free, &rendering, std::memory_order_acq_rel)) return true;
        struct release_on_exit {  // a claim not published is given back, or the writer would wait on it
            std::atomic<const c_prerendered*>& slot;
            const c_prerendered* value = nullptr;
            ~release_on_exit() {
                slot.store(value, std::memory_order_release);
                slot.notify_all();
            }
        } publish{done_[id]};
        sink_.text.clear();
        sink_.names.clear();
        writer_.write_def(id);
        w_.flush();
        if (writer_.failed()) return false;
        // c_prerendered holds the refs as bytes (a block has no alignment to give them)
        const std::size_t text_bytes = sink_.text.size(), names_bytes = sink_.names.size() * sizeof(c_name_ref);
        const auto [at, in_use] = blocks_.allocate(text_bytes + names_bytes);
        std::memcpy(at, sink_.text.data(), text_bytes);
        if (names_bytes != 0) std::memcpy(at + text_bytes, sink_.names.data(), names_bytes);
        publish.value = &items_.emplace_back(c_prerendered{{at, text_bytes}, {at + text_bytes, names_bytes}, in_use});
        return true;
    }
    // The writer's side, once it has copied in a definition it took: its place may be filled again.
    static void copied(const c_prerendered& d) noexcept {
        if (d.in_use != nullptr) d.in_use->fetch_sub(1, std::memory_order_release);
    }
    // The definition of `id` published so far, or null; claims nothing. Any thread.
    [[nodiscard]] const c_prerendered* find(std::uint32_t id) const noexcept {
        const c_prerendered* p = done_[id].load(std::memory_order_acquire);
        return p == &rendering || p == &taken ? nullptr : p;
    }
    // The writer's side: the definition of `id` if the renderer has it (waiting while it renders
    // `id`), else null, and the renderer leaves `id` alone from then on.
    [[nodiscard]] const c_prerendered* take(std::uint32_t id) noexcept {
        std::atomic<const c_prerendered*>& slot = done_[id];
        const c_prerendered* p = slot.load(std::memory_order_acquire);
        while (true) {
            if (p == &rendering) {
                slot.wait(&rendering, std::memory_order_acquire);
                p = slot.load(std::memory_order_acquire);
            } else if (p == &taken) {
                return nullptr;
            } else if (p != nullptr) {
                return p;
            } else if (slot.compare_exchange_weak(p, &taken, std::memory_order_acq_rel)) {
                return nullptr;
            }
        }
    }

private:
    struct recording_sink {
        std::string text;
        std::vector<c_name_ref> names;
        void append(const char* p, std::size_t n) { text.append(p, n); }
        // A name after the text so far and `buffered` bytes its writer holds yet.
        void name_ref(c_name_ref r, std::size_t buffered) {
            r.at = static_cast<std::uint32_t>(text.size() + buffered);
            names.push_back(r);
        }
    };

    // Where a definition is being rendered, and where it will not be (the writer took it).
    static constexpr c_prerendered rendering{}, taken{};

    // Where the definitions live until the writer has copied them in: blocks filled in turn, each
    // filled again once the writer has copied everything in it. The writer copies a definition
    // soon after it is rendered, so a few blocks, warm in the cache, take the place of fresh memory
    // for every definition of the header (several MiB for vmlinux, each new page zeroed by the
    // kernel on first touch). A definition the writer never takes keeps its block.
    class recycled_blocks {
    public:
        // Blocks in proportion to the BTF (about 2 bytes a type, from 4 KiB to 256 KiB): a small BTF's
        // dump takes little memory, vmlinux's a few blocks of the largest size.
        explicit recycled_blocks(std::uint32_t types) noexcept
            : block_bytes_(std::clamp<std::size_t>(std::size_t{types} * 2, std::size_t{4} << 10, std::size_t{256} << 10)) {}
        recycled_blocks(const recycled_blocks&) = delete;
        recycled_blocks& operator=(const recycled_blocks&) = delete;
        ~recycled_blocks() {
            for (block& b : blocks_) big_allocator<char>().deallocate(b.p, b.size);
        }
        // n bytes for one definition, and its block's count of definitions not copied in, already
        // counting it. The renderer's thread only.
        std::pair<char*, std::atomic<std::uint32_t>*> allocate(std::size_t n) {
            if (cur_ == nullptr || cur_->size - used_ < n) next(n);
            char* at = cur_->p + used_;
            used_ += n;
            cur_->in_use.fetch_add(1, std::memory_order_relaxed);  // published after, with a release
            return {at, &cur_->in_use};
        }

    private:
        struct block {
            char* p;
            std::size_t size;
            std::atomic<std::uint32_t> in_use{0};
        };
        // A block all copied from (the writer's release of each definition, acquired here), else a new one.
        void next(std::size_t n) {
            for (block& b : blocks_) {
                if (&b != cur_ && b.size >= n && b.in_use.load(std::memory_order_acquire) == 0) {
                    cur_ = &b;
                    used_ = 0;
                    return;
                }
            }
            const std::size_t size = std::max(block_bytes_, n);
            block& b = blocks_.emplace_back(nullptr, 0);  // then its memory: nothing to leak if either throws
            b.p = big_allocator<char>().allocate(size);
            b.size = size;
            cur_ = &b;
            used_ = 0;
        }
        std::size_t block_bytes_;
        std::deque<block> blocks_;  // never moved: definitions point at their block's count
        block* cur_ = nullptr;
        std::size_t used_ = 0;
    };

    const btf& b_;
    std::vector<std::atomic<const c_prerendered*>> done_;  // by type id: null, &rendering, &taken or the published definition
    std::deque<c_prerendered> items_;                         // what done_ points to (never moved)
    recycled_blocks blocks_;                                  // what items_ point to
    recording_sink sink_;
    chunk_writer<recording_sink> w_{sink_};
    c_decl_writer<recording_sink> writer_;
};

// Rendering ahead of a writer on another thread: the writer goes forward through its order of types
// and says where it is; the renderer goes forward through a range of that order just ahead of it,
// rendering the named structs, unions and enums the writer has not taken. Both stay busy to the
// end: the writer copies what the renderer has (or waits for the one it is rendering) and renders
// the rest itself. The definitions are made on the rendering thread (their table is as long as the
// BTF's ids) and handed to the writer through published().
class c_render_ahead {
public:
    c_render_ahead(const btf& b, bpftool_compat compat) noexcept : b_(b), compat_(compat) {}
    c_render_ahead(const c_render_ahead&) = delete;
    c_render_ahead& operator=(const c_render_ahead&) = delete;

    // The writer's side: what has been rendered (null until the renderer starts), and where it is.
    [[nodiscard]] const std::atomic<c_prerender*>* published() const noexcept { return &published_; }
    void writer_at(std::size_t i) noexcept { at_.store(i, std::memory_order_relaxed); }
    // Marks the writer done (or stopped) when it leaves, whatever the way out: nothing is rendered after.
    struct writer_scope {
        c_render_ahead& ahead;
        ~writer_scope() { ahead.at_.store(done, std::memory_order_relaxed); }
    };

    // The renderer's side: the definitions at positions [first, last) of the writer's order that are
    // after the writer's position; id_at(i) is the type at position i.
    template <class IdAt>
    void render(std::size_t first, std::size_t last, IdAt&& id_at) {
        if (last <= first || last - 1 <= at_.load(std::memory_order_relaxed)) return;
        prerender_.emplace(b_, compat_);
        published_.store(&*prerender_, std::memory_order_release);
        for (std::size_t i = first; i < last; ++i) {
            const std::size_t at = at_.load(std::memory_order_relaxed);
            if (at == done) return;
            if (i <= at) i = at + 1;  // the writer went past: on from just ahead of it
            if (i >= last) return;
            const std::uint32_t id = id_at(i);
            if (prerender_->renders(id) && !prerender_->render(id)) return;
        }
    }

private:
    static constexpr std::size_t done = ~std::size_t{0};
    const btf& b_;
    bpftool_compat compat_;
    std::optional<c_prerender> prerender_;
    std::atomic<c_prerender*> published_{nullptr};
    std::atomic<std::size_t> at_{0};  // the writer's position; `done` once it has left
};

}  // namespace btfkit::detail
