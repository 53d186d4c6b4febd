// The one C++ translation unit of c_loader.c: btfkit_c.h's implementation (the stb style).
#define BTFKIT_C_IMPLEMENTATION
#include "btfkit_c.h"
