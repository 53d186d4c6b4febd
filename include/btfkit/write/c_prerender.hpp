// Struct and union definitions of a C header rendered ahead, on a thread other than the one writing
// the header: the text is a function of the BTF alone except for the names, which are made unique
// (___N) in the order the header uses them, so they are left out (c_name_ref) and resolved by the
// writer when it copies the definition in (c_decl_writer::put_prerendered).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "../format/btf.hpp"
#include "../memory.hpp"
#include "c_decl.hpp"

namespace btfkit::detail {

class c_prerender {
public:
    c_prerender(const btf& b, bpftool_compat compat) : b_(b), done_(b.type_count()), writer_(b, w_, compat, c_names::unique) {}
    c_prerender(const c_prerender&) = delete;
    c_prerender& operator=(const c_prerender&) = delete;

    // Whether `id` is a definition this renders: a named struct or union.
    [[nodiscard]] bool renders(std::uint32_t id) const noexcept {
        const kind k = b_.kind_of(id);
        return (k == kind::struct_ || k == kind::union_) && b_.name_off_of(id) != 0;
    }
    // Renders the definition of `id` (renders(id)) and publishes it; false when it cannot be written
    // (the BTF's layout or nesting fails: the header's writer then fails there itself), and from then
    // on. One thread at a time.
    bool render(std::uint32_t id) {
        if (writer_.failed()) return false;
        sink_.text.clear();
        sink_.names.clear();
        writer_.write_struct_def(id);
        w_.flush();
        if (writer_.failed()) return false;
        const byte_span text = arena_.keep({sink_.text.data(), sink_.text.size()});
        const byte_span names = arena_.keep({sink_.names.data(), sink_.names.size()});
        const c_prerendered& d = items_.emplace_back(c_prerendered{{text.data(), text.size()}, {names.data(), names.size()}});
        done_[id].store(&d, std::memory_order_release);
        return true;
    }
    // The definition of `id` rendered so far, or null. Any thread.
    [[nodiscard]] const c_prerendered* find(std::uint32_t id) const noexcept { return done_[id].load(std::memory_order_acquire); }

private:
    struct recording_sink {
        std::string text;
        std::string names;  // c_name_refs, as c_prerendered holds them
        void append(const char* p, std::size_t n) { text.append(p, n); }
        void name_ref(c_name_kind k, std::uint32_t what) {
            const c_name_ref r{static_cast<std::uint32_t>(text.size()), what, k};
            char bytes[sizeof r];
            std::memcpy(bytes, &r, sizeof r);
            names.append(bytes, sizeof r);
        }
    };

    const btf& b_;
    std::vector<std::atomic<const c_prerendered*>> done_;  // by type id: published definitions
    std::deque<c_prerendered> items_;                         // what done_ points to (never moved)
    chunk_arena arena_{std::size_t{1} << 20};                 // what items_ point to
    recording_sink sink_;
    chunk_writer<recording_sink> w_{sink_};
    c_decl_writer<recording_sink> writer_;
};

}  // namespace btfkit::detail
