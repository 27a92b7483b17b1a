// UDP echo server for scripts/bench-peers.ts: the kernel's loopback ceiling for one thread.
// Usage: echo HOST (127.0.0.1 or ::1); binds port 0, prints the port on stdout, echoes every
// datagram back to its sender (recvmmsg/sendmmsg in batches) until killed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "127.0.0.1";
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t slen;
  int family;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &sin->sin_addr) == 1 && (ntohl(sin->sin_addr.s_addr) >> 24) == 127) {
    sin->sin_family = family = AF_INET;
    slen = sizeof *sin;
  } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
    sin6->sin6_family = family = AF_INET6;
    slen = sizeof *sin6;
  } else {
    fprintf(stderr, "echo: loopback addresses only\n");
    return 2;
  }
  int fd = socket(family, SOCK_DGRAM, 0);
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  if (fd < 0 || bind(fd, (struct sockaddr *)&ss, slen) != 0) {
    perror("echo: bind");
    return 2;
  }
  socklen_t al = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &al);
  printf("%d\n", ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port));
  fflush(stdout);
  static unsigned char data[BATCH][1500];
  struct mmsghdr msg[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage from[BATCH];
  for (;;) {
    for (int k = 0; k < BATCH; k++) {
      memset(&msg[k], 0, sizeof msg[k]);
      iov[k].iov_base = data[k];
      iov[k].iov_len = sizeof data[k];
      msg[k].msg_hdr.msg_iov = &iov[k];
      msg[k].msg_hdr.msg_iovlen = 1;
      msg[k].msg_hdr.msg_name = &from[k];
      msg[k].msg_hdr.msg_namelen = sizeof from[k];
    }
    int n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    for (int k = 0; k < n; k++) iov[k].iov_len = msg[k].msg_len;
    sendmmsg(fd, msg, (unsigned)n, 0);
  }
}
