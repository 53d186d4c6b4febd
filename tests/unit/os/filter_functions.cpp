// os/filter_functions.hpp: tracefs's available_filter_functions, vmlinux's and modules' functions.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "btfkit/os/filter_functions.hpp"
#include "temp_dir.hpp"

namespace bk = btfkit;
namespace bt = btfkit::testing;

TEST_CASE("filter_functions: names with and without a module, and a file that cannot be read") {
    bt::temp_dir d("btfkit-ftrace");
    const std::string p = (d.path / "available_filter_functions").string();
    std::ofstream(p) << "tcp_sendmsg\nveth_xmit [veth]\nnf_confirm [nf_conntrack]\ntcp_sendmsg\n\n";
    auto f = bk::filter_functions::read(p);
    REQUIRE_MESSAGE(f.has_value(), f.error().message());
    CHECK(f->size() == 4);
    CHECK(f->contains("tcp_sendmsg", "vmlinux"));
    CHECK_FALSE(f->contains("tcp_sendmsg", "veth"));
    CHECK(f->contains("veth_xmit", "veth"));
    CHECK_FALSE(f->contains("veth_xmit", "vmlinux"));
    CHECK(f->contains("nf_confirm", "nf_conntrack"));
    CHECK_FALSE(f->contains("nf_conf", "nf_conntrack"));

    auto missing = bk::filter_functions::read((d.path / "absent").string());
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == bk::errc::io);
    CHECK(missing.error().message().find("absent") != std::string::npos);
}
