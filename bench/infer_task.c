// SPDX-License-Identifier: MIT
/*
 * infer_task.c - an inference-like task for the scheduling experiment: each frame runs
 * a fixed CPU-bound kernel (a dense N x N single-precision matrix multiply, the core
 * of a small model's layer), as fast as the CPU it gets allows up to a target rate,
 * and prints its frames per second once a second:
 *     T FPS            (T: seconds since start, CLOCK_MONOTONIC)
 * It declares what it needs on its first line, "# cpu_req C target_fps F frame_ms M",
 * where C = M x F / 1000 is the CPU share (cores) that reaches the target.
 *
 * usage: infer_task [-n MATRIX_N | -m FRAME_MS] [-f TARGET_FPS] [-t SECONDS] [-c]
 *   -m picks the matrix size whose frame takes about FRAME_MS alone on a CPU;
 *   -c prints the matrix size and the frame time in ms and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: calibration must not count time other work took the CPU */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void frame(const float *a, const float *b, float *c, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			float s = 0;
			for (int k = 0; k < n; k++)
				s += a[i * n + k] * b[k * n + j];
			c[i * n + j] = s;
		}
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int n = 96, calibrate = 0, opt;
	double fps = 25, secs = 30, want_ms = 0;
	while ((opt = getopt(argc, argv, "n:m:f:t:c")) != -1) {
		switch (opt) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'm':
			want_ms = atof(optarg);
			break;
		case 'f':
			fps = atof(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'c':
			calibrate = 1;
			break;
		default:
			fprintf(stderr, "usage: infer_task [-n N | -m FRAME_MS] [-f FPS] [-t SECONDS] [-c]\n");
			return 2;
		}
	}
	if (n < 8 || n > 2048 || fps <= 0 || secs <= 0) {
		fprintf(stderr, "infer_task: bad arguments\n");
		return 2;
	}
	float *a = NULL, *b = NULL, *c = NULL;
	double frame_ms = 0;
	for (;;) {
		free(a), free(b), free(c);
		a = malloc(sizeof(float) * (size_t)n * (size_t)n), b = malloc(sizeof(float) * (size_t)n * (size_t)n);
		c = malloc(sizeof(float) * (size_t)n * (size_t)n);
		if (!a || !b || !c)
			return 1;
		for (int i = 0; i < n * n; i++) {
			a[i] = (float)(i % 7) * 0.5f;
			b[i] = (float)(i % 5) * 0.25f;
		}
		/* the frame's CPU time: the median of 15 frames after 5 of warm-up */
		double t[20];
		for (int i = 0; i < 20; i++) {
			double t0 = cpu_s();
			frame(a, b, c, n);
			t[i] = cpu_s() - t0;
		}
		for (int i = 5; i < 20; i++)
			for (int j = i + 1; j < 20; j++)
				if (t[j] < t[i]) {
					double x = t[i];
					t[i] = t[j], t[j] = x;
				}
		frame_ms = t[12] * 1000;
		if (want_ms <= 0 || frame_ms >= want_ms * 0.9 || n >= 2048)
			break;
		/* the kernel is cubic in n */
		double grow = want_ms / frame_ms, f = 1;
		while (f * f * f < grow)
			f += 0.02;
		n = (int)(n * f) + 1;
		if (n > 2048)
			n = 2048;
	}
	if (calibrate) {
		printf("n %d frame_ms %.3f\n", n, frame_ms);
		return 0;
	}
	printf("# cpu_req %.3f target_fps %.1f frame_ms %.3f\n", frame_ms * fps / 1000, fps, frame_ms);
	fflush(stdout);
	double start = now_s(), next_frame = start, next_report = start + 1;
	long frames = 0;
	while (now_s() - start < secs) {
		frame(a, b, c, n);
		frames++;
		next_frame += 1.0 / fps;
		double t1 = now_s();
		if (t1 >= next_report) {
			printf("%.1f %.2f\n", next_report - start, (double)frames / (t1 - next_report + 1));
			fflush(stdout);
			frames = 0;
			next_report += 1;
			if (next_frame < t1 - 1)
				next_frame = t1; /* far behind: do not try to catch up a backlog */
		}
		sleep_s(next_frame - now_s());
	}
	free(a), free(b), free(c);
	return 0;
}
