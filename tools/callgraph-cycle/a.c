
/* tools/callgraph's own check: a.c and b.c call each other, a cycle */

void b_call(void);


void
a_call(void)
{
    b_call();
}
