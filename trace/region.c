/* Creation and mapping of regions (see region.h for the layout, the ring protocol and how a
 * region reaches its collector). Only system calls that never allocate are used, because the
 * shim calls this from inside malloc hooks and fork handlers. */
#define _GNU_SOURCE
#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <unistd.h>

lg_region_t *lg_region_create_memfd(int *fd_out)
{
    int fd = (int)syscall(SYS_memfd_create, "leakgraph-region", MFD_CLOEXEC);
    if (fd < 0) return NULL;
    void *m = MAP_FAILED;
    if (ftruncate(fd, (off_t)LG_REGION_SIZE) == 0)
        m = mmap(NULL, LG_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (m == MAP_FAILED) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    ((lg_region_t *)m)->hdr.creator = (int32_t)getpid();
    *fd_out = fd;
    return m;
}

lg_region_t *lg_region_map_fd(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return NULL;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != LG_REGION_SIZE) {
        errno = EPROTO; /* not a region, or one of another leakgraph build */
        return NULL;
    }
    void *m = mmap(NULL, LG_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    return m == MAP_FAILED ? NULL : m;
}

int lg_region_ready(const lg_region_t *r)
{
    if (atomic_load_explicit(&r->hdr.magic, memory_order_acquire) != LG_REGION_MAGIC)
        return -EAGAIN;
    if (r->hdr.version != LG_REGION_VERSION || r->hdr.nrings != LG_RINGS ||
        r->hdr.ring_bytes != LG_RING_BYTES)
        return -EPROTO; /* written by another leakgraph build */
    return 0;
}

int lg_region_send_fd(const char *dir, int fd)
{
    struct sockaddr_un to = {.sun_family = AF_UNIX};
    size_t dl = strlen(dir), sl = sizeof LG_SESSION_SOCKET; /* with its 0 */
    if (dl + 1 + sl > sizeof to.sun_path) return -ENAMETOOLONG;
    memcpy(to.sun_path, dir, dl);
    to.sun_path[dl] = '/';
    memcpy(to.sun_path + dl + 1, LG_SESSION_SOCKET, sl);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    char byte = 'r';
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr msg = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n = sendmsg(s, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    int e = n == 1 ? 0 : errno == EWOULDBLOCK ? EAGAIN : errno;
    close(s);
    return -e;
}

int lg_region_recv_fd(int sock)
{
    char byte;
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof ctl.buf};
    for (;;) {
        ssize_t n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) return errno == EINTR ? 0 : -(errno == EWOULDBLOCK ? EAGAIN : errno);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        int fd = -1;
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
        if (fd >= 0 && !(msg.msg_flags & MSG_CTRUNC)) return fd;
        if (fd >= 0) close(fd); /* a message of no shim: skipped */
        msg.msg_controllen = sizeof ctl.buf;
    }
}

lg_region_t *lg_region_create_private(void)
{
    void *m = mmap(NULL, LG_REGION_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

void lg_region_unmap(lg_region_t *r)
{
    if (r) munmap(r, LG_REGION_SIZE);
}
