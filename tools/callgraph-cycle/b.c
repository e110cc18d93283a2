
/* tools/callgraph's own check: a.c and b.c call each other, a cycle */

void a_call(void);


static void
b_local(void)
{
}


void
b_call(void)
{
    b_local();
    a_call();
}
