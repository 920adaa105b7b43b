/*
 * control_client.c: the commands' side of the control socket, and their
 * small blocking HTTP client (see control_client.h).
 *
 * The client is deliberately simple: one request per connection
 * ("Connection: close"), the answer read to end of file, every wait bounded
 * by poll() against one deadline.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control_client.h"

/* Answers larger than this are refused (an export is a whole database). */
#define CONTROL_MAX_ANSWER ((size_t)2048 * 1024 * 1024)

void
control_socket_path(const struct config *cfg, struct buf *out)
{
	buf_addf(out, "%s/%s", cfg->data_dir ? cfg->data_dir : "./data",
	    CONTROL_SOCKET);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes. 0 or -1. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p;
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/*
 * Send req on the connected (non-blocking) fd, read the answer to end of
 * file and split it into status and body. 0 or -1 with err.
 */
static int
exchange(int fd, const struct buf *req, int64_t deadline, int *status,
    struct buf *out, struct buf *err)
{
	struct buf in = BUF_INIT;
	size_t off = 0;
	ssize_t n;
	const char *p, *end;
	int rc = -1;

	while (off < req->len) {
		n = send(fd, req->data + off, req->len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			goto sys;
		if (wait_fd(fd, POLLOUT, deadline) == -1)
			goto sys;
	}
	for (;;) {
		buf_grow(&in, 65536);
		n = recv(fd, in.data + in.len, 65536, 0);
		if (n > 0) {
			in.len += (size_t)n;
			in.data[in.len] = '\0';
			if (in.len > CONTROL_MAX_ANSWER) {
				buf_adds(err, "answer too large");
				goto out;
			}
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			goto sys;
		if (wait_fd(fd, POLLIN, deadline) == -1)
			goto sys;
	}
	if (in.len < 12 || strncmp(in.data, "HTTP/1.", 7) != 0 ||
	    in.data[9] < '1' || in.data[9] > '5') {
		buf_adds(err, "not an HTTP answer");
		goto out;
	}
	*status = (in.data[9] - '0') * 100 + (in.data[10] - '0') * 10 +
	          (in.data[11] - '0');
	p = strstr(in.data, "\r\n\r\n");
	if (p == NULL) {
		buf_adds(err, "incomplete HTTP answer");
		goto out;
	}
	p += 4;
	end = in.data + in.len;
	buf_add(out, p, (size_t)(end - p));
	rc = 0;
	goto out;
sys:
	buf_addf(err, "%s",
	    errno == ETIMEDOUT ? "no answer in time" : strerror(errno));
out:
	buf_release(&in);
	return rc;
}

/* Connect fd to sa, waiting until the deadline. 0 or -1 (errno set). */
static int
connect_by(int fd, const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return -1;
	if (wait_fd(fd, POLLOUT, deadline) == -1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

int
control_call(const char *path, const char *op, const char *body, size_t len,
    int *status, struct buf *out, struct buf *err)
{
	struct sockaddr_un sun;
	struct buf req = BUF_INIT;
	int64_t deadline = now_ms() + CONTROL_TIMEOUT_MS;
	int fd = -1, rc = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		buf_addf(err, "control socket path '%s' is too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		buf_addf(err, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect_by(fd, (struct sockaddr *)&sun, sizeof(sun), deadline) ==
	    -1) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			rc = CONTROL_NO_SERVER;
		} else {
			buf_addf(err, "cannot connect to '%s': %s", path,
			    strerror(errno));
		}
		goto out;
	}
	buf_addf(&req,
	    "POST /admin/%s HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n",
	    op, len);
	if (len > 0)
		buf_add(&req, body, len);
	if (exchange(fd, &req, deadline, status, out, err) == -1) {
		buf_addf(err, " (control socket '%s')", path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	buf_release(&req);
	return rc;
}

int
control_http_get(const struct sockaddr *sa, socklen_t salen, const char *target,
    int timeout_ms, int *status, struct buf *out, struct buf *err)
{
	struct buf req = BUF_INIT;
	int64_t deadline = now_ms() + timeout_ms;
	int fd, rc = -1;

	fd = socket(
	    sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		buf_addf(err, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect_by(fd, sa, salen, deadline) == -1) {
		buf_addf(err, "cannot connect: %s",
		    errno == ETIMEDOUT ? "no answer in time" : strerror(errno));
		goto out;
	}
	buf_addf(&req,
	    "GET %s HTTP/1.1\r\nHost: localhost\r\n"
	    "Accept: application/vnd.koreader.v1+json\r\n"
	    "Connection: close\r\n\r\n",
	    target);
	rc = exchange(fd, &req, deadline, status, out, err);
out:
	close(fd);
	buf_release(&req);
	return rc;
}

bool
control_server_runs(const struct config *cfg)
{
	struct buf path = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
	int status, rc;

	control_socket_path(cfg, &path);
	rc = control_call(path.data, "ping", NULL, 0, &status, &out, &err);
	buf_release(&path);
	buf_release(&out);
	buf_release(&err);
	return rc != CONTROL_NO_SERVER;
}
