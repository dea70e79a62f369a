"""console.metrics"""
