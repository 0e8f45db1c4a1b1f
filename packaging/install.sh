#!/bin/sh
# `make install`: lay pyhttpd out as an FHS tree under $DESTDIR (empty for the live system).
#
#   $PREFIX/lib/pyhttpd/pyhttpd/     the Python package (dependencies: Debian's python3-pyparsing,
#                                    python3-click, python3-psutil, python3-setproctitle,
#                                    python3-bcrypt)
#   $PREFIX/sbin/pyhttpd, pyhttpdctl, pyhttpd-enmod, pyhttpd-dismod, pyhttpd-query
#   $SYSCONFDIR/ (/etc/pyhttpd)      httpd.conf, mime.types, mods-available/, mods-enabled/
#   $LOGDIR (/var/log/pyhttpd)       logs; $WWWDIR (/var/www/pyhttpd) the default site
#   $RUNDIR (/run/pyhttpd)           PidFile and scoreboard (systemd's RuntimeDirectory=)
#   $UNITDIR/pyhttpd.service, .socket and $LOGROTATEDIR/pyhttpd
#
# Configuration files are installed as dpkg treats conffiles: a file the administrator changed is
# never overwritten (the new default goes beside it as FILE.pyhttpd-new); an unchanged one is
# updated. What "unchanged" means is kept in $PREFIX/share/pyhttpd/conffiles.md5sums.
# PACKAGE=1 (make deb) stages files only: the Debian maintainer scripts create the log folder,
# the default site and mods-enabled/, and dpkg itself handles the conffiles.
set -eu

: "${PREFIX:=/usr/local}" "${DESTDIR:=}" "${SYSCONFDIR:=/etc/pyhttpd}"
: "${LOGDIR:=/var/log/pyhttpd}" "${WWWDIR:=/var/www/pyhttpd}" "${UNITDIR:=/lib/systemd/system}"
: "${RUNDIR:=/run/pyhttpd}" "${LOGROTATEDIR:=/etc/logrotate.d}"
: "${PYTHON:=/usr/bin/python3}" "${PACKAGE:=0}"
src=$(cd "$(dirname "$0")/.." && pwd)
libdir=$PREFIX/lib/pyhttpd
sbindir=$PREFIX/sbin
sharedir=$PREFIX/share/pyhttpd
D=$DESTDIR
sums=$D$sharedir/conffiles.md5sums

# paths as installed, in the files that name them
localize() {
    sed -e "s|/usr/sbin/|$sbindir/|g" -e "s|/etc/pyhttpd|$SYSCONFDIR|g" \
        -e "s|/var/log/pyhttpd|$LOGDIR|g" -e "s|/var/www/pyhttpd|$WWWDIR|g" \
        -e "s|/run/pyhttpd|$RUNDIR|g" "$1"
}

# install_conf SOURCE TARGET: dpkg's conffile rule for one file (TARGET without $DESTDIR)
install_conf() {
    new=$(md5sum <"$1" | cut -d' ' -f1)
    if [ "$PACKAGE" = 0 ] && [ -e "$D$2" ]; then
        current=$(md5sum <"$D$2" | cut -d' ' -f1)
        recorded=$(awk -v path="$2" '$2 == path { print $1 }' "$sums" 2>/dev/null || true)
        if [ "$current" != "$new" ] && [ "$current" != "$recorded" ]; then
            install -m 0644 "$1" "$D$2.pyhttpd-new"
            echo "pyhttpd: keeping your changed $2; the new default is $2.pyhttpd-new"
            record "$2" "$new"
            return
        fi
    fi
    install -D -m 0644 "$1" "$D$2"
    [ "$PACKAGE" = 1 ] && return
    rm -f "$D$2.pyhttpd-new"
    record "$2" "$new"
}

record() {
    mkdir -p "$(dirname "$sums")"
    { grep -v " $1\$" "$sums" 2>/dev/null || true; echo "$2 $1"; } >"$sums.tmp"
    mv "$sums.tmp" "$sums"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the code: a clean copy of the package, then one launcher per console script
rm -rf "$D$libdir/pyhttpd"
mkdir -p "$D$libdir"
(cd "$src" && find pyhttpd -name '*.py' -print0 | tar --null -cf - -T -) |
    (cd "$D$libdir" && tar -xf - --no-same-owner --no-same-permissions)
find "$D$libdir/pyhttpd" -type d -exec chmod 0755 {} + && find "$D$libdir/pyhttpd" -type f -exec chmod 0644 {} +
mkdir -p "$D$sbindir"
for entry in pyhttpd:pyhttpd.cli.httpd:main pyhttpdctl:pyhttpd.cli.ctl:main \
    pyhttpd-enmod:pyhttpd.cli.enmod:enmod_main pyhttpd-dismod:pyhttpd.cli.enmod:dismod_main \
    pyhttpd-query:pyhttpd.cli.enmod:query_main; do
    name=${entry%%:*} rest=${entry#*:}
    sed -e "s|@PYTHON@|$PYTHON|" -e "s|@NAME@|$name|" -e "s|@LIBDIR@|$libdir|" \
        -e "s|@SYSCONFDIR@|$SYSCONFDIR|" -e "s|@MODULE@|${rest%%:*}|" \
        -e "s|@FUNCTION@|${rest#*:}|g" "$src/packaging/launcher.in" >"$work/$name"
    install -m 0755 "$work/$name" "$D$sbindir/$name"
done

# the configuration (conffiles)
localize "$src/packaging/etc/httpd.conf" >"$work/httpd.conf"
install_conf "$work/httpd.conf" "$SYSCONFDIR/httpd.conf"
install_conf "$src/conf/mime.types" "$SYSCONFDIR/mime.types"
for file in "$src"/mods-available/*; do
    name=$(basename "$file")
    sed 's|^\(\s*TypesConfig\s\+\)conf/mime.types|\1mime.types|' "$file" >"$work/$name"
    install_conf "$work/$name" "$SYSCONFDIR/mods-available/$name"
done
localize "$src/packaging/logrotate/pyhttpd" >"$work/logrotate"
install_conf "$work/logrotate" "$LOGROTATEDIR/pyhttpd"

# systemd units, the default site and module list (for the first install), the documentation
for unit in pyhttpd.service pyhttpd.socket; do
    localize "$src/packaging/systemd/$unit" >"$work/$unit"
    install -D -m 0644 "$work/$unit" "$D$UNITDIR/$unit"
done
install -D -m 0644 "$src/htdocs/index.html" "$D$sharedir/default-site/index.html"
for link in "$src"/mods-enabled/*.load; do basename "$link" .load; done >"$work/default-modules"
install -m 0644 "$work/default-modules" "$D$sharedir/default-modules"
install -D -m 0644 "$src/README.md" "$D$PREFIX/share/doc/pyhttpd/README.md"

[ "$PACKAGE" = 1 ] && exit 0

# a live tree: what the Debian postinst does on first install
install -d -m 0750 "$D$LOGDIR"
install -d -m 0755 "$D$WWWDIR"
[ -e "$D$WWWDIR/index.html" ] || install -m 0644 "$src/htdocs/index.html" "$D$WWWDIR/index.html"
if [ ! -d "$D$SYSCONFDIR/mods-enabled" ]; then
    mkdir -p "$D$SYSCONFDIR/mods-enabled"
    # shellcheck disable=SC2046 # one word per module name
    PYTHONPATH="$D$libdir" "$PYTHON" -c 'from pyhttpd.cli.enmod import enmod_main; enmod_main()' \
        -q -d "$D$SYSCONFDIR" $(cat "$D$sharedir/default-modules")
fi
