/* The C main shared by both sides of the size comparison. */
int nsem_demo(void);
int main(void) { return nsem_demo(); }
