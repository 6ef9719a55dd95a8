# nyxgate as a container image: Debian 12, built in a first stage into the same Debian package
# that `scripts/build.sh deb` makes, installed in a second stage and run as the unprivileged
# `nyxgate` user with the embedded PostgreSQL under the /var/lib/nyxgate volume.
#   docker build -t nyxgate .
#   docker run -p 8080:8080 -v nyxgate-data:/var/lib/nyxgate nyxgate
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake ninja-build pkg-config \
      libcaf-dev libboost1.81-all-dev libboost-json1.81-dev libboost-url1.81-dev libsimdjson-dev \
      libpq-dev libssl-dev libtomlplusplus-dev libjemalloc-dev dpkg-dev file \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && ninja -C build \
 && cd build && cpack -G DEB

FROM debian:12
COPY --from=build /src/build/nyxgate_*.deb /tmp/
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/nyxgate_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/nyxgate_*.deb \
 && install -d -o nyxgate -g nyxgate -m 0750 /var/lib/nyxgate
USER nyxgate
WORKDIR /var/lib/nyxgate
VOLUME /var/lib/nyxgate
EXPOSE 8080
ENTRYPOINT ["/usr/bin/nyxgate", "serve", "--config", "/etc/nyxgate/nyxgate.toml", "--server.listen=0.0.0.0:8080"]
