# kosyncd container: a static binary on an empty base image.
# The build stage runs exactly what `make static` runs on a Debian 12 host
# (scripts/install-deps build, then make static), so it cannot drift from
# what the tests exercise.
FROM debian:12 AS build
WORKDIR /src
COPY . .
# install-deps brings make itself; make static then finds the build
# packages present (it never installs the test ones).
RUN scripts/install-deps build && make static && mkdir -p /out/data && \
    cp kosyncd-static /out/kosyncd

FROM scratch
COPY --from=build /out/kosyncd /kosyncd
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
EXPOSE 8080
ENV KOSYNCD_DATA_DIR=/data
HEALTHCHECK --interval=30s --timeout=3s CMD ["/kosyncd", "healthcheck"]
ENTRYPOINT ["/kosyncd"]
CMD ["serve"]
