#include <stdio.h>
int main(void)
{
    puts("osiris");
    return 0;
}
