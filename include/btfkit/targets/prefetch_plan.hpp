// How target_set::prefetch prepares the lookups of names known up front: a policy decided from the
// set's state alone, apart from the lookup path it prepares.
#pragma once

namespace btfkit {

// What the target set has when prefetch(names) is called.
struct prefetch_state {
    bool names_covered = false;     // a name pass already answered every one of these names
    bool has_pass = false;          // a name pass answered some names already
    bool has_modules = false;       // modules are registered
    bool module_index = false;      // the module index exists (built, or borrowed from a cache)
    bool wants_whole_index = false; // an index listener (a cache to save) wants whole indexes built
    bool can_read = false;          // a module loader is set
    bool any_opened = false;        // some module is open already
    bool vmlinux_indexed = false;   // vmlinux's name index exists
};

// What to do: a name pass (over vmlinux if it has no index, and over every module if `pass_modules`),
// then, if `open_listed`, build the module index and open the modules it lists for the names.
struct prefetch_plan {
    bool pass = false;
    bool pass_modules = false;
    bool open_listed = false;
};

// A pass over the modules reads each once and keeps only these names' entries: the cheapest way
// to answer a few names when no module index exists. It is not taken where a module index exists,
// is wanted whole (for a cache), or where modules are open already (a pass then would read them
// again). vmlinux without an index is scanned for the names rather than indexed, unless indexes are
// wanted whole: then its index gets built by the lookups, and saved.
[[nodiscard]] constexpr prefetch_plan plan_prefetch(const prefetch_state& s) noexcept {
    prefetch_plan p;
    if (s.names_covered) return p;
    if (!s.has_pass) {
        p.pass_modules = s.has_modules && !s.module_index && !s.wants_whole_index && s.can_read && !s.any_opened;
        p.pass = p.pass_modules || (!s.vmlinux_indexed && !s.wants_whole_index);
    }
    p.open_listed = s.has_modules && !p.pass_modules;
    return p;
}

}  // namespace btfkit
