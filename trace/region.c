/* Creation and mapping of regions (see region.h for the layout and the ring protocol). Only
 * system calls that never allocate are used, because the shim calls this from inside malloc
 * hooks and fork handlers. */
#define _GNU_SOURCE
#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

lg_region_t *lg_region_create_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return NULL;
    if (ftruncate(fd, (off_t)LG_REGION_SIZE) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        errno = e;
        return NULL;
    }
    void *m = mmap(NULL, LG_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file; a program that closes every fd cannot hurt it */
    if (m == MAP_FAILED) {
        unlink(path);
        errno = e;
        return NULL;
    }
    return m;
}

lg_region_t *lg_region_open_file(const char *path)
{
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < LG_REGION_SIZE) {
        close(fd);
        errno = EAGAIN; /* still being created */
        return NULL;
    }
    void *m = mmap(NULL, LG_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) {
        errno = e;
        return NULL;
    }
    lg_region_t *r = m;
    if (atomic_load_explicit(&r->hdr.magic, memory_order_acquire) != LG_REGION_MAGIC) {
        munmap(m, LG_REGION_SIZE);
        errno = EAGAIN;
        return NULL;
    }
    if (r->hdr.version != LG_REGION_VERSION || r->hdr.nrings != LG_RINGS ||
        r->hdr.ring_bytes != LG_RING_BYTES) {
        munmap(m, LG_REGION_SIZE);
        errno = EPROTO; /* written by another leakgraph build */
        return NULL;
    }
    return r;
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
