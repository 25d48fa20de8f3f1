# SIPp (Debian's sip-tester package, the same SIPp the tests use), for the `sipp` profile of
# docker/compose.yaml. The scenarios are mounted from ../sip-scenarios at /sip-scenarios.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sip-tester \
 && rm -rf /var/lib/apt/lists/*
# SIPp writes its screen and log files to the working directory.
WORKDIR /tmp/sipp
ENTRYPOINT ["sipp"]
CMD ["-h"]
