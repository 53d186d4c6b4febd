// A FUNC's C prototype on one line, in the form ksnoop's `info` prints:
// `int ip_send_skb(struct net *net, struct sk_buff *skb);` — libbpf btf_dump's declarators (c_decl.hpp),
// with type names as the BTF spells them.
#pragma once

#include <cstdint>
#include <string>

#include "../error.hpp"
#include "../format/btf.hpp"
#include "../format/dump.hpp"
#include "c_decl.hpp"

namespace btfkit {

namespace detail {
template <byte_sink S>
class c_prototype_writer : public c_decl_writer<S> {
public:
    c_prototype_writer(const btf& b, chunk_writer<S>& w) : c_decl_writer<S>(b, w, bpftool_compat::v7_5, c_names::as_written) {}
    void prototype(const type& func) {
        this->emit_type_decl(func.ref(), func.name(), 0);
        this->put(';');
    }
};
}  // namespace detail

// Appends the prototype of FUNC `func_id` of `b` to `out`: its return type, name and parameters, and a
// `;` (an anonymous struct, union or enum in it is written out in full, as btf_dump does). An id that
// is not a FUNC, or a prototype whose types loop, is an error.
template <byte_sink S>
[[nodiscard]] status write_c_prototype(const btf& b, std::uint32_t func_id, S& out) {
    auto t = b.type_at(func_id);
    if (!t) return t.error();
    if (!t->is(kind::func)) return error(errc::bad_kind, "not a FUNC").at_type(func_id).got(static_cast<std::uint8_t>(t->kind()));
    if (b.kind_of(t->ref()) != kind::func_proto) return error(errc::bad_kind, "FUNC does not refer to a FUNC_PROTO").at_type(func_id);
    detail::chunk_writer<S> w(out);
    detail::c_prototype_writer<S> d(b, w);
    d.prototype(*t);
    w.flush();
    if (d.failed()) return d.failure();
    return {};
}

[[nodiscard]] inline result<std::string> c_prototype(const btf& b, std::uint32_t func_id) {
    std::string s;
    BTFKIT_TRY(write_c_prototype(b, func_id, s));
    return s;
}

}  // namespace btfkit
