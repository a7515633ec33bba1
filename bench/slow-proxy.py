# A TCP proxy that holds each chunk a client sends for DELAY_MS before
# passing it on, as the network and a cloud API's own work do: used by
# bench/aws.sh (latency like AWS's) and tests/aws.rs (slow enough to kill an
# apply in the middle of it). Usage: slow-proxy.py LISTEN_PORT TARGET_PORT DELAY_MS
import asyncio, sys
listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000
async def pump(r, w, wait):
    try:
        while data := await r.read(65536):
            if wait:
                await asyncio.sleep(delay)
            w.write(data)
            await w.drain()
    except ConnectionError:
        pass
    finally:
        w.close()
async def serve(cr, cw):
    sr, sw = await asyncio.open_connection("127.0.0.1", target)
    await asyncio.gather(pump(cr, sw, True), pump(sr, cw, False))
async def main():
    async with await asyncio.start_server(serve, "127.0.0.1", listen) as s:
        await s.serve_forever()
asyncio.run(main())
