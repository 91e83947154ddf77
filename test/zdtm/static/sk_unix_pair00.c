// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unix socket pairs of each type with messages queued in both
 * directions: afterwards each end reads exactly what was queued for it,
 * with datagram and seqpacket boundaries kept (an empty datagram too),
 * the pairs still carry data both ways, a half-shut pair is still shut,
 * ends whose peers were closed still hold their last messages and see
 * the peer gone, an end bound to an autobind name has it again, and
 * SO_PASSCRED, O_NONBLOCK, a receive timeout and a send buffer size are
 * kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

#define STREAM_A2B 70000
#define STREAM_B2A 500
#define SNDBUF 300000

/* Datagram and seqpacket messages queued a to b, and b to a. */
static const int msgs_a2b[] = { 1, 100, 0, 3000, 7 };
static const int msgs_b2a[] = { 42, 4096 };

static int stream[2], dgram[2], seqp[2], shut[2];
/* ends whose peers were closed, with the peers' last messages queued */
static int orphan_stream, orphan_dgram;
/* a dgram pair with one end bound to a kernel-chosen (autobind) name */
static int autob[2];
static struct sockaddr_un autob_name;
static socklen_t autob_len;
static int sndbuf_set;
/* the kernel keeps timeouts in jiffies: compare with what it said before */
static struct timeval rcvtimeo_set;

static int send_msgs(int fd, const int *lens, int n, int seed)
{
	static char buf[8192];
	int i;

	for (i = 0; i < n; i++) {
		datagen(buf, lens[i], seed + i);
		if (send(fd, buf, lens[i], 0) != lens[i]) {
			pr_perror("send of %d bytes", lens[i]);
			return -1;
		}
	}
	return 0;
}

static int check_msgs(int fd, const int *lens, int n, int seed, const char *what)
{
	static char buf[8192];
	int i;

	for (i = 0; i < n; i++) {
		ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (got != lens[i] || datachk(buf, got, seed + i) != (size_t)-1) {
			fail("%s: message %d is %zd bytes (want %d) or differs", what, i, got,
			     lens[i]);
			return -1;
		}
	}
	if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) != -1 || errno != EAGAIN) {
		fail("%s: more messages than were queued", what);
		return -1;
	}
	return 0;
}

static int check_stream_data(int fd, size_t len, int seed, const char *what)
{
	static char buf[STREAM_A2B + 1];
	size_t have = 0;

	while (have < len) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have, MSG_DONTWAIT);

		if (n <= 0) {
			fail("%s: %zu bytes of %zu queued came back", what, have, len);
			return -1;
		}
		have += n;
	}
	if (datachk(buf, len, seed) != (size_t)-1) {
		fail("%s: the queued bytes differ", what);
		return -1;
	}
	if (recv(fd, buf, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN) {
		fail("%s: more bytes than were queued", what);
		return -1;
	}
	return 0;
}

static int ping(int a, int b, const char *what)
{
	char buf[16];

	if (send(a, "ping", 4, 0) != 4 || recv(b, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "ping", 4) || send(b, "pong", 4, 0) != 4 ||
	    recv(a, buf, sizeof(buf), 0) != 4 || memcmp(buf, "pong", 4)) {
		fail("%s: the pair does not carry data any more", what);
		return -1;
	}
	return 0;
}

static int get_int(int fd, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);

	getsockopt(fd, SOL_SOCKET, opt, &v, &l);
	return v;
}

static int check_opts(void)
{
	struct timeval tv;
	socklen_t l = sizeof(tv);
	struct sockaddr_un sa;
	socklen_t sl = sizeof(sa);

	if (get_int(stream[1], SO_PASSCRED) != 1 || get_int(dgram[1], SO_PASSCRED) != 1 ||
	    get_int(stream[0], SO_PASSCRED) != 0) {
		fail("SO_PASSCRED is not as it was");
		return -1;
	}
	if (!(fcntl(stream[0], F_GETFL) & O_NONBLOCK) || (fcntl(stream[1], F_GETFL) & O_NONBLOCK)) {
		fail("O_NONBLOCK is not as it was");
		return -1;
	}
	if (getsockopt(seqp[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &l) ||
	    tv.tv_sec != rcvtimeo_set.tv_sec || tv.tv_usec != rcvtimeo_set.tv_usec) {
		fail("SO_RCVTIMEO is %ld.%06ld, not %ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec,
		     (long)rcvtimeo_set.tv_sec, (long)rcvtimeo_set.tv_usec);
		return -1;
	}
	if (get_int(dgram[0], SO_SNDBUF) != sndbuf_set) {
		fail("SO_SNDBUF is %d, not %d", get_int(dgram[0], SO_SNDBUF), sndbuf_set);
		return -1;
	}
	if (getsockname(stream[0], (struct sockaddr *)&sa, &sl) || sl != sizeof(sa_family_t)) {
		fail("a socketpair end has a name now");
		return -1;
	}
	if (get_int(seqp[0], SO_TYPE) != SOCK_SEQPACKET || get_int(dgram[1], SO_TYPE) != SOCK_DGRAM) {
		fail("socket types changed");
		return -1;
	}
	return 0;
}

static int check_shut(void)
{
	char buf[8];

	if (recv(shut[1], buf, sizeof(buf), MSG_DONTWAIT) != 3 || memcmp(buf, "bye", 3)) {
		fail("the half-shut pair lost its last bytes");
		return -1;
	}
	if (recv(shut[1], buf, sizeof(buf), MSG_DONTWAIT) != 0) {
		fail("the half-shut pair is not at its end");
		return -1;
	}
	if (send(shut[0], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno != EPIPE) {
		fail("the shut end can send again");
		return -1;
	}
	if (send(shut[1], "back", 4, 0) != 4 || recv(shut[0], buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "back", 4)) {
		fail("the half-shut pair does not carry data the other way");
		return -1;
	}
	return 0;
}

static int make_orphan(int type, int *fd)
{
	int sv[2];

	if (socketpair(AF_UNIX, type, 0, sv) || send(sv[1], "last words", 10, 0) != 10) {
		pr_perror("orphan socketpair");
		return -1;
	}
	close(sv[1]);
	*fd = sv[0];
	return 0;
}

static int check_orphans(void)
{
	char buf[16];

	if (recv(orphan_stream, buf, sizeof(buf), MSG_DONTWAIT) != 10 ||
	    memcmp(buf, "last words", 10) || recv(orphan_stream, buf, 1, MSG_DONTWAIT) != 0) {
		fail("a stream end lost its closed peer's last bytes or its end");
		return -1;
	}
	if (send(orphan_stream, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno != EPIPE) {
		fail("a stream end whose peer is closed can send");
		return -1;
	}
	if (recv(orphan_dgram, buf, sizeof(buf), MSG_DONTWAIT) != 10 ||
	    memcmp(buf, "last words", 10) || recv(orphan_dgram, buf, 1, MSG_DONTWAIT) != -1 ||
	    errno != EAGAIN) {
		fail("a dgram end lost its closed peer's last message");
		return -1;
	}
	if (send(orphan_dgram, "x", 1, MSG_DONTWAIT) != -1 || errno != ECONNREFUSED) {
		fail("a dgram end whose peer is closed: send gives %m, not ECONNREFUSED");
		return -1;
	}
	return 0;
}

static int make_autobound(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	autob_len = sizeof(autob_name);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, autob) ||
	    bind(autob[0], (struct sockaddr *)&a, sizeof(sa_family_t)) ||
	    getsockname(autob[0], (struct sockaddr *)&autob_name, &autob_len) ||
	    send(autob[0], "auto", 4, 0) != 4) {
		pr_perror("autobound pair");
		return -1;
	}
	return 0;
}

static int check_autobound(void)
{
	struct sockaddr_un got;
	socklen_t gl = sizeof(got);
	char buf[8];

	if (getsockname(autob[0], (struct sockaddr *)&got, &gl) || gl != autob_len ||
	    memcmp(&got, &autob_name, gl)) {
		fail("the autobound end has another name");
		return -1;
	}
	if (recv(autob[1], buf, sizeof(buf), MSG_DONTWAIT) != 4 || memcmp(buf, "auto", 4)) {
		fail("the autobound pair lost its message");
		return -1;
	}
	return ping(autob[0], autob[1], "autobound pair");
}

static int setup(void)
{
	static char buf[STREAM_A2B];
	struct timeval tv = { 3, 250000 };
	int one = 1, sz = SNDBUF / 2;
	socklen_t l;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, stream) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, dgram) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, seqp) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, shut)) {
		pr_perror("socketpair");
		return -1;
	}
	if (setsockopt(dgram[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) ||
	    setsockopt(seqp[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		pr_perror("setsockopt");
		return -1;
	}
	sndbuf_set = get_int(dgram[0], SO_SNDBUF);
	l = sizeof(rcvtimeo_set);
	if (getsockopt(seqp[0], SOL_SOCKET, SO_RCVTIMEO, &rcvtimeo_set, &l) ||
	    rcvtimeo_set.tv_sec != 3) {
		pr_perror("SO_RCVTIMEO");
		return -1;
	}
	datagen(buf, STREAM_A2B, 1);
	if (write_all(stream[0], buf, STREAM_A2B))
		return -1;
	datagen(buf, STREAM_B2A, 2);
	if (write_all(stream[1], buf, STREAM_B2A))
		return -1;
	if (send_msgs(dgram[0], msgs_a2b, ARRAY_SIZE(msgs_a2b), 10) ||
	    send_msgs(dgram[1], msgs_b2a, ARRAY_SIZE(msgs_b2a), 20) ||
	    send_msgs(seqp[0], msgs_a2b, ARRAY_SIZE(msgs_a2b), 30) ||
	    send_msgs(seqp[1], msgs_b2a, ARRAY_SIZE(msgs_b2a), 40))
		return -1;
	if (make_orphan(SOCK_STREAM, &orphan_stream) || make_orphan(SOCK_DGRAM, &orphan_dgram) ||
	    make_autobound())
		return -1;
	if (send(shut[0], "bye", 3, 0) != 3 || shutdown(shut[0], SHUT_WR)) {
		pr_perror("shutdown");
		return -1;
	}
	/* after the sends: a sender with SO_PASSCRED would bind itself */
	if (setsockopt(stream[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    setsockopt(dgram[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    fcntl(stream[0], F_SETFL, O_NONBLOCK)) {
		pr_perror("SO_PASSCRED");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_opts() ||
	    check_stream_data(stream[1], STREAM_A2B, 1, "stream a->b") ||
	    check_stream_data(stream[0], STREAM_B2A, 2, "stream b->a") ||
	    check_msgs(dgram[1], msgs_a2b, ARRAY_SIZE(msgs_a2b), 10, "dgram a->b") ||
	    check_msgs(dgram[0], msgs_b2a, ARRAY_SIZE(msgs_b2a), 20, "dgram b->a") ||
	    check_msgs(seqp[1], msgs_a2b, ARRAY_SIZE(msgs_a2b), 30, "seqpacket a->b") ||
	    check_msgs(seqp[0], msgs_b2a, ARRAY_SIZE(msgs_b2a), 40, "seqpacket b->a") ||
	    check_shut() || check_orphans() || check_autobound())
		return 1;
	fcntl(stream[0], F_SETFL, 0);
	if (ping(stream[0], stream[1], "stream") || ping(dgram[0], dgram[1], "dgram") ||
	    ping(seqp[0], seqp[1], "seqpacket"))
		return 1;
	pass();
	return 0;
}
