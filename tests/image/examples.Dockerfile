# The client side of the service-container pattern: the examples' tests, run
# from a second container on the mock's network as a CI job runs them. Built
# on the mock image (it has Python, the package and its pytest plugin) plus
# what the examples need; the build context is examples/.
ARG IMAGE
FROM ${IMAGE}
USER root
RUN pip install --no-cache-dir pytest requests
COPY . /examples
WORKDIR /examples
ENV PYTHONPATH=/examples
CMD ["python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests"]
