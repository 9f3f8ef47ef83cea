// C++ new and delete reach the shim through malloc and free.
#include <cstdlib>

struct Widget {
    long a[6]; // 48 bytes
};

void *volatile sink;

static void leak_new() { sink = new Widget; } // LEAK:leak_new:malloc:48
static void leak_new_array() { sink = new char[123]; } // LEAK:leak_new_array:malloc:123

int main()
{
    delete new Widget;
    delete[] new int[50];
    leak_new();
    leak_new_array();
    sink = nullptr;
    return 0;
}
