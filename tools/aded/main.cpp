#include <cstdio>
int main() { std::puts("aded"); return 0; }
