/*
 * A pcscd reader driver that is vsmartcard-vpcd listening on 127.0.0.1 only.
 *
 * Why: vpcd (libifdvpcd.so) binds its card ports (35963, 35964) to INADDR_ANY, hard-coded; its reader
 * configuration offers only that ("/dev/null:PORT") or connecting out to a card ("HOST:PORT"), and the latter
 * crashes pcscd with the Debian 12 build (vsmartcard 3.3: a failed connect leaves a closed descriptor, the next
 * poll FD_SETs -1). Anyone on the network could then put a card into the virtual readers.
 *
 * How: pcscd loads this library instead of vpcd (LIBPATH in the reader configuration). Every IFDH entry point is
 * passed to the real vpcd driver; after vpcd has created a channel (and with it its listening socket), the
 * wildcard socket is replaced, under the same descriptor number (dup2 is atomic), by one bound to 127.0.0.1 on
 * the same port. vpcd keeps using "its" descriptor and never notices. If no listener, or a listener on another
 * address than loopback, is left on the port, the channel is closed and the reader refused: a vpcd that cannot be
 * kept on loopback does not run at all.
 *
 * Built and installed by scripts/setup-system.sh; VPCD_DRIVER is the real driver's path.
 */
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <ifdhandler.h>

#ifndef VPCD_DRIVER
#define VPCD_DRIVER "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
#endif
/* vpcd's port when the device name gives none (VPCDPORT in vsmartcard). */
#define VPCD_DEFAULT_PORT 35963

static struct {
	RESPONSECODE (*create_channel)(DWORD, DWORD);
	RESPONSECODE (*create_channel_by_name)(DWORD, LPSTR);
	RESPONSECODE (*close_channel)(DWORD);
	RESPONSECODE (*get_capabilities)(DWORD, DWORD, PDWORD, PUCHAR);
	RESPONSECODE (*set_capabilities)(DWORD, DWORD, DWORD, PUCHAR);
	RESPONSECODE (*set_protocol_parameters)(DWORD, DWORD, UCHAR, UCHAR, UCHAR, UCHAR);
	RESPONSECODE (*power_icc)(DWORD, DWORD, PUCHAR, PDWORD);
	RESPONSECODE (*transmit_to_icc)(DWORD, SCARD_IO_HEADER, PUCHAR, DWORD, PUCHAR, PDWORD, PSCARD_IO_HEADER);
	RESPONSECODE (*control)(DWORD, DWORD, PUCHAR, DWORD, PUCHAR, DWORD, LPDWORD);
	RESPONSECODE (*icc_presence)(DWORD);
} real;
static int loaded;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load_real_driver(void)
{
	void *lib = dlopen(VPCD_DRIVER, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		syslog(LOG_ERR, "vpcd-loopback: cannot load %s: %s", VPCD_DRIVER, dlerror());
		return;
	}
#define BIND(field, name) \
	if (!(*(void **) &real.field = dlsym(lib, name))) { \
		syslog(LOG_ERR, "vpcd-loopback: %s has no %s", VPCD_DRIVER, name); \
		return; \
	}
	BIND(create_channel, "IFDHCreateChannel")
	BIND(create_channel_by_name, "IFDHCreateChannelByName")
	BIND(close_channel, "IFDHCloseChannel")
	BIND(get_capabilities, "IFDHGetCapabilities")
	BIND(set_capabilities, "IFDHSetCapabilities")
	BIND(set_protocol_parameters, "IFDHSetProtocolParameters")
	BIND(power_icc, "IFDHPowerICC")
	BIND(transmit_to_icc, "IFDHTransmitToICC")
	BIND(control, "IFDHControl")
	BIND(icc_presence, "IFDHICCPresence")
#undef BIND
	loaded = 1;
}

static int driver_ready(void)
{
	pthread_once(&load_once, load_real_driver);
	return loaded;
}

/* The listening TCP socket on `port` in this process, if any, as its descriptor; *loopback says where it is bound. */
static int find_listener(unsigned short port, int *loopback)
{
	struct rlimit limit;
	int max = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536 ? (int) limit.rlim_cur : 65536;

	for (int fd = 0; fd < max; fd++) {
		struct sockaddr_storage address;
		socklen_t length = sizeof address;
		int listening = 0;
		socklen_t size = sizeof listening;

		if (getsockname(fd, (struct sockaddr *) &address, &length) != 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening)
			continue;
		if (address.ss_family == AF_INET) {
			const struct sockaddr_in *in = (const struct sockaddr_in *) &address;
			if (ntohs(in->sin_port) != port)
				continue;
			*loopback = in->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
			return fd;
		}
		if (address.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &address;
			if (ntohs(in6->sin6_port) != port)
				continue;
			*loopback = memcmp(&in6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback) == 0;
			return fd;
		}
	}
	return -1;
}

/* Moves vpcd's listener on `port` to 127.0.0.1, keeping its descriptor number. 0 when the port is loopback-only. */
static int keep_on_loopback(unsigned short port)
{
	int loopback = 0;
	int fd = find_listener(port, &loopback);
	int replacement, yes = 1;
	struct sockaddr_in address;

	if (fd < 0) {
		syslog(LOG_ERR, "vpcd-loopback: vpcd opened no listener on port %hu", port);
		return -1;
	}
	if (loopback)
		return 0;

	replacement = socket(AF_INET, SOCK_STREAM, 0);
	if (replacement < 0)
		goto fail;
	/* dup2 closes the wildcard listener and puts the new socket under its number in one step. */
	if (dup2(replacement, fd) < 0) {
		close(replacement);
		goto fail;
	}
	close(replacement);
	memset(&address, 0, sizeof address);
	address.sin_family = AF_INET;
	address.sin_port = htons(port);
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* As vpcd does: a restarted pcscd must not wait for old connections in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0
			|| bind(fd, (struct sockaddr *) &address, sizeof address) != 0
			|| listen(fd, 0) != 0)
		goto fail;
	if (find_listener(port, &loopback) != fd || !loopback)
		goto fail;
	syslog(LOG_INFO, "vpcd-loopback: virtual reader port %hu listens on 127.0.0.1 only", port);
	return 0;

fail:
	syslog(LOG_ERR, "vpcd-loopback: cannot move port %hu to 127.0.0.1: %s", port, strerror(errno));
	return -1;
}

/* The port vpcd listens on for `Lun`: the channel (or the device name's ":PORT") plus the slot number. */
static unsigned short port_of(DWORD Lun, unsigned long channel)
{
	return (unsigned short) (channel + (Lun & 0xffff));
}

static RESPONSECODE after_create(DWORD Lun, RESPONSECODE r, unsigned short port)
{
	if (r != IFD_SUCCESS)
		return r;
	if (keep_on_loopback(port) != 0) {
		real.close_channel(Lun);
		return IFD_COMMUNICATION_ERROR;
	}
	return IFD_SUCCESS;
}

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
	const char *colon;
	unsigned long channel = VPCD_DEFAULT_PORT;

	if (!driver_ready())
		return IFD_COMMUNICATION_ERROR;
	colon = strchr(DeviceName, ':');
	/* Only vpcd's listening mode ("/dev/null:PORT"); its connecting mode is what crashes pcscd (see above). */
	if (colon && (size_t) (colon - DeviceName) != strlen("/dev/null"))
		return IFD_COMMUNICATION_ERROR;
	if (colon && strncmp(DeviceName, "/dev/null", strlen("/dev/null")) != 0)
		return IFD_COMMUNICATION_ERROR;
	if (colon)
		channel = strtoul(colon + 1, NULL, 0);
	return after_create(Lun, real.create_channel_by_name(Lun, DeviceName), port_of(Lun, channel));
}

RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
	if (!driver_ready())
		return IFD_COMMUNICATION_ERROR;
	return after_create(Lun, real.create_channel(Lun, Channel), port_of(Lun, Channel));
}

RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
	return driver_ready() ? real.close_channel(Lun) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
	return driver_ready() ? real.get_capabilities(Lun, Tag, Length, Value) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
	return driver_ready() ? real.set_capabilities(Lun, Tag, Length, Value) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1, UCHAR PTS2, UCHAR PTS3)
{
	return driver_ready() ? real.set_protocol_parameters(Lun, Protocol, Flags, PTS1, PTS2, PTS3) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
	return driver_ready() ? real.power_icc(Lun, Action, Atr, AtrLength) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer, DWORD TxLength, PUCHAR RxBuffer, PDWORD RxLength, PSCARD_IO_HEADER RecvPci)
{
	return driver_ready() ? real.transmit_to_icc(Lun, SendPci, TxBuffer, TxLength, RxBuffer, RxLength, RecvPci) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength, PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
	return driver_ready() ? real.control(Lun, dwControlCode, TxBuffer, TxLength, RxBuffer, RxLength, pdwBytesReturned) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHICCPresence(DWORD Lun)
{
	return driver_ready() ? real.icc_presence(Lun) : IFD_COMMUNICATION_ERROR;
}
