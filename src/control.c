/*
 * control.c: the control socket (server side) and the commands' blocking
 * HTTP client (see control.h).
 *
 * The client is deliberately simple: one request per connection
 * ("Connection: close"), the answer read to end of file, every wait bounded
 * by poll() against one deadline. The server side is a second struct
 * server (server.c) listening on the unix socket with admin_handle as its
 * handler, so the control socket gets the same parser, limits and
 * deadlines as the protocol's listener.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "cmd.h"
#include "control.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "xmalloc.h"

/* Bodies the control socket accepts: an import carries a whole database. */
#define CONTROL_MAX_BODY ((size_t)1024 * 1024 * 1024)
#define CONTROL_MAX_ANSWER ((size_t)2048 * 1024 * 1024)

void
control_socket_path(const struct config *cfg, struct buf *out)
{
	buf_addf(out, "%s/%s", cfg->data_dir ? cfg->data_dir : "./data",
	    CONTROL_SOCKET);
}

/*
 * The client
 */

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

/*
 * Running an operation, online or offline
 */

struct offline {
	int status;
	struct buf *out;
	bool answered;
	bool flushed;
};

static void
offline_done(void *arg, int status, const char *body, size_t len)
{
	struct offline *o = arg;

	o->status = status;
	buf_add(o->out, body, len);
	o->answered = true;
}

static void
offline_flushed(void *arg)
{
	struct offline *o = arg;

	o->flushed = true;
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void
offline_account(void *arg, struct str user)
{
	sessions_end_user(arg, user, STR_NULL, NULL, NULL);
}

/* Open the store on a private loop, run op, make it durable, close. */
static int
run_offline(struct config *cfg, const char *op, const char *body, size_t len,
    int *status, struct buf *out)
{
	uv_loop_t loop;
	struct store *st;
	struct admin *a;
	struct sessions *ss;
	struct offline o;
	int rc = -1;

	if (uv_loop_init(&loop) != 0) {
		cmd_complain("cannot create an event loop");
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.out = out;
	st = store_open(&loop, cfg);
	if (st == NULL) {
		cmd_complain("cannot open the store of '%s' (is a kosyncd "
		             "without a control socket running on it?)",
		    cfg->data_dir);
		goto out;
	}
	/* Sessions of the web interface kept in the store (Redis) end
	 * with a key change or deletion made here. */
	ss = sessions_open(st, (uint64_t)cfg->session_ttl_s * 1000, 1);
	store_listen_accounts(st, offline_account, ss);
	a = admin_new(st, cfg);
	admin_run(a, op, (struct str){body, len}, offline_done, &o);
	while (!o.answered && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	store_flush(st, offline_flushed, &o);
	while (!o.flushed && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	admin_free(a);
	store_listen_accounts(st, NULL, NULL);
	sessions_free(ss);
	if (!o.answered) {
		cmd_complain("the operation did not finish");
		goto out;
	}
	*status = o.status;
	rc = 0;
out:
	store_close(st);
	uv_walk(&loop, close_walk, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&loop);
	return rc;
}

int
control_run(struct config *cfg, const char *op, const char *body, size_t len,
    int *status, struct buf *out)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	int rc;

	control_socket_path(cfg, &path);
	rc = control_call(path.data, op, body, len, status, out, &err);
	if (rc == -1)
		cmd_complain("%s", err.data);
	buf_release(&path);
	buf_release(&err);
	if (rc != CONTROL_NO_SERVER)
		return rc;
	/* Redis needs no lock: every kosyncd on it sees a change at once. */
	if (strcmp(cfg->storage, "file") != 0 &&
	    strcmp(cfg->storage, "redis") != 0) {
		cmd_complain(
		    "storage \"%s\" keeps nothing to administer: a server "
		    "on it has no control socket, and there are no files",
		    cfg->storage);
		return -1;
	}
	return run_offline(cfg, op, body, len, status, out);
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

/*
 * The server side
 */

struct control {
	struct server *srv;
	struct admin *admin;
	char *path;
	void (*done)(void *arg);
	void *done_arg;
};

struct control *
control_start(uv_loop_t *loop, struct config *cfg, struct store *st)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	struct server_limits limits;
	struct buf path = BUF_INIT;

	control_socket_path(cfg, &path);
	ctl->path = buf_detach(&path, NULL);
	ctl->admin = admin_new(st, cfg);
	server_limits_default(&limits);
	limits.max_body_bytes = CONTROL_MAX_BODY;
	limits.request_timeout_ms = CONTROL_TIMEOUT_MS;
	limits.max_connections = CONTROL_MAX_CONNECTIONS;
	limits.max_connections_per_ip = CONTROL_MAX_CONNECTIONS;
	ctl->srv = server_new(loop, &limits, admin_handle, ctl->admin);
	/* We hold the data directory's lock: a socket there is stale. */
	if (unlink(ctl->path) != 0 && errno != ENOENT)
		log_warn("cannot remove stale '%s'", ctl->path);
	if (server_listen_unix(ctl->srv, ctl->path) == -1) {
		control_free(ctl);
		return NULL;
	}
	return ctl;
}

static void
control_drained(void *arg)
{
	struct control *ctl = arg;

	if (ctl->path != NULL && unlink(ctl->path) != 0 && errno != ENOENT)
		log_warn("cannot remove '%s'", ctl->path);
	if (ctl->done != NULL)
		ctl->done(ctl->done_arg);
}

void
control_shutdown(struct control *ctl, void (*done)(void *arg), void *arg)
{
	if (ctl == NULL) {
		done(arg);
		return;
	}
	ctl->done = done;
	ctl->done_arg = arg;
	server_shutdown(ctl->srv, control_drained, ctl);
}

void
control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	server_free(ctl->srv);
	admin_free(ctl->admin);
	free(ctl->path);
	free(ctl);
}
