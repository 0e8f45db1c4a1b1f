#!/bin/sh
# `make deb`: stage the tree with install.sh (PREFIX=/usr, PACKAGE=1), add the control files, the
# conffiles list (every file under /etc), the maintainer scripts and the Debian docs, and build
# build/pyhttpd_VERSION_all.deb with dpkg-deb (no debhelper needed). Prints the .deb's path.
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$src/build}
upstream=$(sed -n 's/^version = "\(.*\)"/\1/p' "$src/pyproject.toml" | head -1)
version="$upstream-1"
stage=$out/deb-root
here=$src/packaging/debian

rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
DESTDIR=$stage PREFIX=/usr PACKAGE=1 "$src/packaging/install.sh"

doc=$stage/usr/share/doc/pyhttpd
install -m 0644 "$here/copyright" "$doc/copyright"
sed "s|@VERSION@|$version|" "$here/changelog" | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

(cd "$stage" && find etc -type f | sed 's|^|/|' | sort) >"$stage/DEBIAN/conffiles"
index_md5=$(md5sum <"$src/htdocs/index.html" | cut -d' ' -f1)
for script in postinst prerm postrm; do
    sed "s|@INDEX_MD5@|$index_md5|" "$here/$script" >"$stage/DEBIAN/$script"
    chmod 0755 "$stage/DEBIAN/$script"
done
install -D -m 0644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/pyhttpd"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@SIZE@|$size|" "$here/control.in" >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
    xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"
find "$stage" -type d -exec chmod 0755 {} +

deb=$out/pyhttpd_${version}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
