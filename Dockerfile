# kosyncd container image: the static binary on an empty base image, for
# linux/amd64, linux/arm64 and linux/arm/v7 (Debian's armhf; linux/arm/v6,
# armel, too). No compiler runs here: the image copies the binary that
# `make static ARCH=...` built and tested on the host, staged for each
# platform by `make image-context` into build/image/<platform>/kosyncd
# (packaging/image/stage). Then, from the top of the repository:
#
#   docker build -t kosyncd .                            # this machine's
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 \
#       -t kosyncd .                                     # all of them
#
# The image runs as uid/gid 65532 (no name: the image has no /etc/passwd),
# keeps everything in the /data volume and answers its HEALTHCHECK with
# `kosyncd healthcheck` (GET /healthcheck on the listen address).
FROM scratch
ARG TARGETPLATFORM
COPY build/image/${TARGETPLATFORM}/kosyncd /kosyncd
COPY --chown=65532:65532 build/image/data /data
USER 65532:65532
VOLUME /data
EXPOSE 8080
ENV KOSYNCD_DATA_DIR=/data
HEALTHCHECK --interval=30s --timeout=3s CMD ["/kosyncd", "healthcheck"]
ENTRYPOINT ["/kosyncd"]
CMD ["serve"]
