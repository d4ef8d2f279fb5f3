# shellcheck shell=bash disable=SC2154 # $work, $python and $pids come from the sourcing script
# Sourced by the bench scripts: a private Locust and a private nginx on
# 127.0.0.1, nothing under /etc, /run or /var touched, and the readings of
# a process's CPU and memory the measuring scripts take. Needs $work (a
# temporary folder) and $python; adds the pids it starts to $pids.
#
# Debian's python3-locust 2.12.1 reports an empty version, and a master then
# rejects its workers as "pre 2.0": use_private_locust runs a copy that
# carries the real version.

# It sets locust_version.
use_private_locust() {
  local pkg
  pkg=$($python -c 'import locust, os; print(os.path.dirname(locust.__file__))')
  locust_version=$($python -c 'import locust; print(locust.__version__)')
  if [[ -z "$locust_version" ]]; then
    locust_version=$(dpkg-query -W -f='${Version}' python3-locust); locust_version=${locust_version#*:}; locust_version=${locust_version%%-*}
    cp -r "$pkg" "$work/locust"
    printf 'version = "%s"\n' "$locust_version" >"$work/locust/_version.py"
    export PYTHONPATH=$work
  fi
  export PYTHONDONTWRITEBYTECODE=1
}

free_port() { $python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_nginx: an nginx answering "ok" on $nginx_port, so that Locust, not
# the target, is what a bench measures.
start_nginx() {
  nginx_port=$(free_port)
  mkdir -p "$work/nginx/tmp"
  cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
  server { listen 127.0.0.1:$nginx_port; location / { return 200 "ok\n"; } }
}
CONF
  nginx -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  pids+=($!)
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$nginx_port") 2>/dev/null && break; sleep 0.1; done
}

# cpu_ticks PID: user+system clock ticks used so far (proc(5), fields 14 and 15).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# rss_mb PID: its resident memory now, in MiB (proc(5), VmRSS).
rss_mb() { awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$1/status"; }
