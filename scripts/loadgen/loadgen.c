// Closed-loop UDP load generator for scripts/bench-peers.ts (loopback only).
//
// N sockets, each keeping M requests in flight: every reply received sends the next request on
// the same socket. Requests come from a payload file ([u16 big-endian length][bytes] ...), used
// cyclically, or once each (--once, for pre-signed fresh announces) starting at --skip. Before
// the run each socket does its protocol's handshake and patches the token into every request:
//   raw    nothing (echo servers)
//   bep15  BEP 15 connect; the 8-byte connection id goes to bytes 0..7
//   mt     metatracker cookie-request (docs/protocol.md §8.1/§8.2); the 12-byte cookie goes to
//          bytes 5..16 (announce §8.3, query §8.5)
// Replies are counted during the measured window only (after --warmup), and a reply counts as
// done only when it matches every --expect OFF=HEX; others count as "bad" (the first one is
// printed as hex on stderr). Lost datagrams are recovered: a socket with requests in flight
// that hears nothing for 50 ms is refilled. One JSON line on stdout at the end.
//
// Written in C (hand-written, not a library) because the generator must cost far less per
// request than the servers it measures; recvmmsg/sendmmsg batch the system calls.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64
#define MAX_PAYLOAD 1500
#define BATCH 64
#define MAX_EXPECT 4

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg) {
  fprintf(stderr, "loadgen: %s\n", msg);
  exit(2);
}

typedef struct {
  int fd;
  long inflight;
  double last_rx;
  unsigned char token[16];
  int token_len;
} sock_t;

static unsigned char *file_buf;
static size_t n_payloads;
static uint32_t *pay_off;
static uint16_t *pay_len;

static void load_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) die("cannot open the payload file");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  file_buf = malloc((size_t)size + 1);
  if (file_buf == NULL || fread(file_buf, 1, (size_t)size, f) != (size_t)size) die("read failed");
  fclose(f);
  size_t cap = 1024;
  pay_off = malloc(cap * sizeof *pay_off);
  pay_len = malloc(cap * sizeof *pay_len);
  size_t at = 0;
  while (at + 2 <= (size_t)size) {
    uint16_t len = (uint16_t)(file_buf[at] << 8 | file_buf[at + 1]);
    if (len == 0 || len > MAX_PAYLOAD || at + 2 + len > (size_t)size) die("bad payload file");
    if (n_payloads == cap) {
      cap *= 2;
      pay_off = realloc(pay_off, cap * sizeof *pay_off);
      pay_len = realloc(pay_len, cap * sizeof *pay_len);
    }
    pay_off[n_payloads] = (uint32_t)(at + 2);
    pay_len[n_payloads] = len;
    n_payloads++;
    at += 2 + (size_t)len;
  }
  if (n_payloads == 0) die("empty payload file");
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

typedef struct {
  int off;
  int len;
  unsigned char bytes[32];
} expect_t;

static int parse_expect(const char *s, expect_t *e) {
  const char *eq = strchr(s, '=');
  if (eq == NULL) return -1;
  e->off = atoi(s);
  size_t hl = strlen(eq + 1);
  if (hl % 2 != 0 || hl / 2 > sizeof e->bytes) return -1;
  e->len = (int)(hl / 2);
  for (int i = 0; i < e->len; i++) {
    int hi = hexval(eq[1 + 2 * i]), lo = hexval(eq[2 + 2 * i]);
    if (hi < 0 || lo < 0) return -1;
    e->bytes[i] = (unsigned char)(hi << 4 | lo);
  }
  return 0;
}

// The handshake of one socket: send `req`, wait for a reply of `want` bytes or more whose first
// bytes are `prefix`; copy `tlen` bytes from `toff` into the socket's token. Retries 20 times.
static void handshake(sock_t *s, const unsigned char *req, size_t rlen, const unsigned char *prefix,
                      size_t plen, size_t want, int toff, int tlen) {
  unsigned char buf[MAX_PAYLOAD];
  for (int attempt = 0; attempt < 20; attempt++) {
    if (send(s->fd, req, rlen, 0) < 0) die("handshake send failed");
    struct pollfd p = {s->fd, POLLIN, 0};
    double until = now_s() + 0.25;
    while (now_s() < until) {
      int r = poll(&p, 1, 50);
      if (r <= 0) continue;
      ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n >= (ssize_t)want && memcmp(buf, prefix, plen) == 0) {
        memcpy(s->token, buf + toff, (size_t)tlen);
        s->token_len = tlen;
        return;
      }
    }
  }
  die("no handshake reply from the server");
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *proto = "raw", *file = NULL;
  int port = 0, nsock = 4, window = 32, once = 0;
  double seconds = 2, warmup = 0.5;
  long skip = 0;
  expect_t expect[MAX_EXPECT];
  int n_expect = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--once") == 0) {
      once = 1;
      continue;
    }
    if (v == NULL) die("missing value");
    i++;
    if (strcmp(a, "--host") == 0) host = v;
    else if (strcmp(a, "--port") == 0) port = atoi(v);
    else if (strcmp(a, "--proto") == 0) proto = v;
    else if (strcmp(a, "--file") == 0) file = v;
    else if (strcmp(a, "--sockets") == 0) nsock = atoi(v);
    else if (strcmp(a, "--window") == 0) window = atoi(v);
    else if (strcmp(a, "--seconds") == 0) seconds = atof(v);
    else if (strcmp(a, "--warmup") == 0) warmup = atof(v);
    else if (strcmp(a, "--skip") == 0) skip = atol(v);
    else if (strcmp(a, "--expect") == 0) {
      if (n_expect == MAX_EXPECT || parse_expect(v, &expect[n_expect]) != 0) die("bad --expect");
      n_expect++;
    } else die("unknown option");
  }
  if (file == NULL || port <= 0 || port > 65535) die("need --file and --port");
  if (nsock < 1 || nsock > MAX_SOCKETS || window < 1 || window > 4096) die("bad --sockets/--window");
  int mode = strcmp(proto, "raw") == 0 ? 0 : strcmp(proto, "bep15") == 0 ? 1 : strcmp(proto, "mt") == 0 ? 2 : -1;
  if (mode < 0) die("bad --proto");

  // Loopback only: 127.0.0.0/8 or ::1, nothing else is ever a target.
  struct sockaddr_storage ss;
  socklen_t slen;
  memset(&ss, 0, sizeof ss);
  int family;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1) {
    if ((ntohl(a4.s_addr) >> 24) != 127) die("refusing a non-loopback address");
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    sin->sin_addr = a4;
    slen = sizeof *sin;
    family = AF_INET;
  } else if (inet_pton(AF_INET6, host, &a6) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&a6)) die("refusing a non-loopback address");
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    sin6->sin6_addr = a6;
    slen = sizeof *sin6;
    family = AF_INET6;
  } else die("bad --host");

  double t_start = now_s();
  load_file(file);
  if (once && (size_t)skip >= n_payloads) die("--skip past the end of the payload file");

  sock_t socks[MAX_SOCKETS];
  for (int i = 0; i < nsock; i++) {
    sock_t *s = &socks[i];
    memset(s, 0, sizeof *s);
    s->fd = socket(family, SOCK_DGRAM, 0);
    if (s->fd < 0) die("socket failed");
    int buf = 4 << 20;
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    if (connect(s->fd, (struct sockaddr *)&ss, slen) != 0) die("connect failed");
    if (mode == 1) {
      unsigned char req[16] = {0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 0, 0, 0, (unsigned char)(i + 1)};
      unsigned char prefix[8] = {0, 0, 0, 0, 0, 0, 0, (unsigned char)(i + 1)};
      handshake(s, req, sizeof req, prefix, sizeof prefix, 16, 8, 8);
    } else if (mode == 2) {
      unsigned char req[24] = {0x10, 0, 0, 0, (unsigned char)(i + 1)};
      unsigned char prefix[5] = {0x11, 0, 0, 0, (unsigned char)(i + 1)};
      handshake(s, req, sizeof req, prefix, sizeof prefix, 17, 5, 12);
    }
  }
  const int token_at = mode == 1 ? 0 : 5;

  // Per-socket send and receive batches.
  static unsigned char sbuf[BATCH][MAX_PAYLOAD], rbuf[BATCH][MAX_PAYLOAD];
  struct mmsghdr smsg[BATCH], rmsg[BATCH];
  struct iovec siov[BATCH], riov[BATCH];
  for (int k = 0; k < BATCH; k++) {
    memset(&smsg[k], 0, sizeof smsg[k]);
    memset(&rmsg[k], 0, sizeof rmsg[k]);
    siov[k].iov_base = sbuf[k];
    riov[k].iov_base = rbuf[k];
    riov[k].iov_len = MAX_PAYLOAD;
    smsg[k].msg_hdr.msg_iov = &siov[k];
    smsg[k].msg_hdr.msg_iovlen = 1;
    rmsg[k].msg_hdr.msg_iov = &riov[k];
    rmsg[k].msg_hdr.msg_iovlen = 1;
  }

  size_t next = once ? (size_t)skip : 0;
  int exhausted = 0;
  long long sent = 0, ok = 0, bad = 0, refills = 0, total_rx = 0;
  int printed_bad = 0;

  // Fill up to `count` requests on socket s; returns how many were sent.
  #define SEND_ON(s, count)                                                                    \
    do {                                                                                       \
      int want_ = (count), k_ = 0;                                                             \
      while (want_ > 0) {                                                                      \
        int b_ = want_ > BATCH ? BATCH : want_;                                                \
        int m_ = 0;                                                                            \
        for (; m_ < b_; m_++) {                                                                \
          if (next >= n_payloads) {                                                            \
            if (once) { exhausted = 1; break; }                                                \
            next = 0;                                                                          \
          }                                                                                    \
          size_t len_ = pay_len[next];                                                         \
          memcpy(sbuf[m_], file_buf + pay_off[next], len_);                                    \
          if ((s)->token_len > 0 && len_ >= (size_t)(token_at + (s)->token_len))               \
            memcpy(sbuf[m_] + token_at, (s)->token, (size_t)(s)->token_len);                   \
          siov[m_].iov_len = len_;                                                             \
          next++;                                                                              \
        }                                                                                      \
        if (m_ == 0) break;                                                                    \
        int r_ = sendmmsg((s)->fd, smsg, (unsigned)m_, 0);                                     \
        if (r_ < 0) r_ = 0;                                                                    \
        if (r_ < m_ && once) next -= (size_t)(m_ - r_);                                        \
        k_ += r_;                                                                              \
        want_ -= m_;                                                                           \
        if (r_ < m_) break;                                                                    \
      }                                                                                        \
      (s)->inflight += k_;                                                                     \
      sent += k_;                                                                              \
    } while (0)

  struct pollfd pfd[MAX_SOCKETS];
  for (int i = 0; i < nsock; i++) {
    pfd[i].fd = socks[i].fd;
    pfd[i].events = POLLIN;
  }
  double t0 = now_s();
  double m0 = t0 + warmup, m1 = m0 + seconds, end_measured = 0;
  for (int i = 0; i < nsock; i++) {
    socks[i].last_rx = t0;
    SEND_ON(&socks[i], window);
  }
  size_t used_at_end = 0;
  double last_rx_any = t0;
  for (;;) {
    double t = now_s();
    if (t >= m1) {
      end_measured = t;
      used_at_end = next;
      break;
    }
    if (once && exhausted) {
      int idle = 1;
      for (int i = 0; i < nsock; i++) idle = idle && socks[i].inflight == 0;
      if (idle && t - last_rx_any > 0.5) {  // all sent, answered or lost, and quiet: done early
        end_measured = t;
        used_at_end = next;
        break;
      }
    }
    int r = poll(pfd, (nfds_t)nsock, 10);
    t = now_s();
    int measuring = t >= m0 && t < m1;
    for (int i = 0; i < nsock; i++) {
      sock_t *s = &socks[i];
      if (r > 0 && (pfd[i].revents & POLLIN)) {
        for (;;) {
          int n = recvmmsg(s->fd, rmsg, BATCH, MSG_DONTWAIT, NULL);
          if (n <= 0) break;
          total_rx += n;
          last_rx_any = t;
          s->last_rx = t;
          s->inflight -= n;
          if (s->inflight < 0) s->inflight = 0;
          if (measuring) {
            for (int k = 0; k < n; k++) {
              int good = 1;
              for (int e = 0; e < n_expect && good; e++) {
                if ((int)rmsg[k].msg_len < expect[e].off + expect[e].len ||
                    memcmp(rbuf[k] + expect[e].off, expect[e].bytes, (size_t)expect[e].len) != 0)
                  good = 0;
              }
              if (good) ok++;
              else {
                bad++;
                if (!printed_bad) {
                  printed_bad = 1;
                  fprintf(stderr, "loadgen: unexpected reply (%u bytes):", rmsg[k].msg_len);
                  for (unsigned b = 0; b < rmsg[k].msg_len && b < 48; b++) fprintf(stderr, " %02x", rbuf[k][b]);
                  fprintf(stderr, "\n");
                }
              }
            }
          }
          int room = window - (int)s->inflight;
          if (room > 0) SEND_ON(s, room);
          if (n < BATCH) break;
        }
      }
      if (s->inflight > 0 && t - s->last_rx > 0.05) {
        refills++;
        s->inflight = 0;
        s->last_rx = t;
        SEND_ON(s, window);
      } else if (s->inflight == 0 && !exhausted) {
        SEND_ON(s, window);
      }
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  double measured = end_measured - m0;
  if (measured <= 0) measured = seconds;
  printf("{\"ok\":%lld,\"bad\":%lld,\"sent\":%lld,\"received\":%lld,\"seconds\":%.4f,\"rate\":%.1f,"
         "\"cpu\":%.4f,\"wall\":%.4f,\"refills\":%lld,\"next\":%zu,\"payloads\":%zu,\"exhausted\":%s}\n",
         ok, bad, sent, total_rx, measured, (double)ok / measured, cpu, now_s() - t_start, refills, used_at_end, n_payloads,
         exhausted ? "true" : "false");
  for (int i = 0; i < nsock; i++) close(socks[i].fd);
  return 0;
}
