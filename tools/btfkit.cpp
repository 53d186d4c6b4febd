// btfkit command-line tool (placeholder main until subcommands land).
#include <cstdio>
int main() { std::puts("btfkit"); return 0; }
