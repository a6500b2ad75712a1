#include <inforeg.h>  /* cc app.c $(pkg-config --cflags --libs inforeg) */
#include <stdio.h>

int main(void)
{
	struct inforeg_reader *r = inforeg_open(NULL, 0);  /* $INFOREG_SHM or "inforeg" */
	if (!r) {
		perror("inforeg_open");                      /* ENOENT: no daemon runs */
		return 1;
	}
	int h = inforeg_lookup(r, "cpu.usage");             /* once: stable across daemon restarts */
	struct inforeg_meta m = { 0 };
	double v;
	for (int i = 0; i < 5; i++) {
		if (inforeg_read_latest(r, h, &v, &m) == 0)  /* no system call */
			printf("seq %llu cpu.usage %.1f%%\n", (unsigned long long)m.seq, v);
		inforeg_wait(r, m.seq, 1000);                /* sleeps on a futex until the next sample */
	}
	inforeg_close(r);
	return 0;
}
